"""ASGI middleware: request id, body-size limit and the last-resort error boundary.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed responses pass through untouched and a client
disconnect still reaches the streaming response as ``http.disconnect`` (which is what makes uvicorn
cancel the response task and chatkit save the partial answer).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from task_assistant.log import logger
from task_assistant.web.errors import GENERIC_SERVER_MESSAGE, error_body

REQUEST_ID_HEADER = "X-Request-Id"

# What a request id taken from a request header may look like (Lambda's ids are UUIDs). Anything else is
# replaced by a generated id: the value is echoed in a response header and written to logs, so a newline
# would break the response (uvicorn refuses to send it) and free text would let a client forge log lines.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def _lambda_request_id(scope: Scope) -> str | None:
    """The Lambda request id when there is one (Mangum's context, or the Web Adapter's header)."""
    context = scope.get("aws.context")
    value = getattr(context, "aws_request_id", None)
    if isinstance(value, str) and value:
        return value
    event = scope.get("aws.event")
    if isinstance(event, Mapping):
        request_context = event.get("requestContext")
        if isinstance(request_context, Mapping) and isinstance(request_context.get("requestId"), str):
            return str(request_context["requestId"])
    for name, raw in scope.get("headers", ()):
        # The Lambda Web Adapter passes the invocation's context as JSON in this header. It is used for
        # log correlation only, never for identity.
        if name == b"x-amzn-lambda-context":
            try:
                parsed = json.loads(raw)
            except ValueError:
                return None
            request_id = parsed.get("request_id") if isinstance(parsed, dict) else None
            if isinstance(request_id, str) and _CLIENT_REQUEST_ID.fullmatch(request_id):
                return request_id
            return None
    return None


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: Mapping[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class RequestGuardMiddleware:
    """Per request: assign a request id, enforce ``max_body_bytes``, turn unexpected errors into 500s.

    The body is read here, up to the limit, before the application runs: ``Content-Length`` above the
    limit is refused without reading, and a chunked body is counted as it arrives and refused as soon as
    it passes the limit. The application then receives the buffered body, followed by the client's
    later messages (notably ``http.disconnect``).
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    # One ASGI exchange in order (limit, buffer, replay, error): its closures share the request's state.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _lambda_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # A context variable: each request (an asyncio task under uvicorn) sees only its own keys.
        logger.thread_safe_append_keys(request_id=request_id)
        id_header = {REQUEST_ID_HEADER: request_id}

        limit_problem = self._declared_length_problem(scope)
        if limit_problem is not None:
            status, problem, code = limit_problem
            await _send_json(
                send, status, error_body(status, problem, code=code, request_id=request_id), id_header
            )
            return

        body = bytearray()
        disconnected = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                break
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _send_json(send, 413, self._too_large(request_id), id_header)
                return
            if not message.get("more_body", False):
                break
        if disconnected:
            return  # nobody is listening; do no work on a half-received request

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, replay, send_with_id)
        except Exception:
            # CancelledError (a client disconnect) is a BaseException and passes untouched.
            logger.exception(
                "unhandled error", extra={"path": scope.get("path"), "method": scope.get("method")}
            )
            if response_started:
                raise  # mid-stream: all that is left is to end the connection
            status = 500
            await _send_json(
                send, status, error_body(status, GENERIC_SERVER_MESSAGE, request_id=request_id), id_header
            )

    def _declared_length_problem(self, scope: Scope) -> tuple[int, str, str] | None:
        for name, raw in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(raw)
                except ValueError:
                    return 400, "Content-Length is not a number", "invalid_request"
                if length > self.max_body_bytes:
                    return 413, self._too_large_message(), "payload_too_large"
        return None

    def _too_large_message(self) -> str:
        return f"request body exceeds the limit of {self.max_body_bytes} bytes"

    def _too_large(self, request_id: str) -> dict[str, Any]:
        return error_body(413, self._too_large_message(), request_id=request_id)

"""The overall time budget of a request: a clean 503 before the door's own limit, never a hang.

Each door has a hard limit: API Gateway ends a buffered integration at 29 s (the client sees a bare 504,
without CORS headers or a request id), and Lambda ends the streaming function at its timeout. The app keeps
below both:

- until a response starts, a request has ``REQUEST_DEADLINE_SECONDS`` (25 s, under API Gateway's 29 s).
  Past it, the work in progress is cancelled and the answer is 503 ``unavailable`` with ``Retry-After``
  (:class:`DeadlineMiddleware`);
- a ChatKit stream, once open, runs until ``STREAM_DEADLINE_SECONDS`` after the request arrived
  (:func:`stream_deadline`, enforced by :class:`~task_assistant.web.sse.EventStreamResponse`), under the
  streaming function's timeout.

Cancelling is enough because every blocking call is bounded on its own: boto3 calls run on worker threads
that the cancelled request stops waiting for, and botocore's connect/read timeouts and retry limit end
them shortly after (:mod:`task_assistant.storage.clients`); the JWKS fetch and the model client have
timeouts of their own.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from task_assistant.log import logger
from task_assistant.web.errors import error_body, request_id_of

#: Retry-After of a request that ran out of time: what it waited on is slow, not gone.
DEADLINE_RETRY_AFTER_SECONDS = 5

_STARTED_AT = "started_at"


def request_started_at(scope: Scope) -> float:
    """When the deadline clock of this request started (``time.monotonic()``); now if it has none."""
    state = scope.get("state")
    value = state.get(_STARTED_AT) if isinstance(state, dict) else None
    return float(value) if isinstance(value, int | float) else time.monotonic()


def stream_deadline(scope: Scope, stream_seconds: float) -> float:
    """The ``time.monotonic()`` instant a stream of this request must end by."""
    return request_started_at(scope) + stream_seconds


class DeadlineMiddleware:
    """Cancels a request whose response has not started within ``request_seconds``; answers 503.

    Once the response has started the clock stops here: JSON answers are then sent at once, and a
    stream keeps its own, longer deadline.
    """

    def __init__(self, app: ASGIApp, *, request_seconds: float) -> None:
        self.app = app
        self.request_seconds = request_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[_STARTED_AT] = time.monotonic()
        response_started = False
        budget: asyncio.Timeout | None = None

        async def send_marking_start(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start" and not response_started:
                response_started = True
                if budget is not None:
                    budget.reschedule(None)
            await send(message)

        try:
            async with asyncio.timeout(self.request_seconds) as budget:
                await self.app(scope, receive, send_marking_start)
        except TimeoutError:
            if budget is None or not budget.expired() or response_started:
                raise  # not our deadline: the error boundary outside handles it
            await self._answer_timeout(scope, send)

    async def _answer_timeout(self, scope: Scope, send: Send) -> None:
        logger.warning(
            "request deadline passed before a response started",
            extra={
                "path": scope.get("path"),
                "method": scope.get("method"),
                "deadline_seconds": self.request_seconds,
            },
        )
        retry = DEADLINE_RETRY_AFTER_SECONDS
        message = f"the request did not complete within {self.request_seconds:g} s; retry after {retry} s"
        body: dict[str, Any] = error_body(503, message, request_id=request_id_of(scope))
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"retry-after", str(retry).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload, "more_body": False})

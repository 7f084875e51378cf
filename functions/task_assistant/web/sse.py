"""``text/event-stream`` responses that end a ChatKit turn the way ChatKit expects when the client leaves.

Why not Starlette's ``StreamingResponse``: on a client disconnect it cancels the producer through an
anyio cancel scope, and anyio cancellation is level-triggered: *every* later ``await`` in the cancelled
task fails again. ChatKit's ``handle_stream_cancelled`` must ``await`` the store to save the partial
answer, so under ``StreamingResponse`` those writes are themselves cancelled and the partial answer is
lost (measured: the cancellation arrives, nothing is saved).

This response runs the producer in its own asyncio task and, on disconnect, cancels that task once
(plain asyncio, edge-triggered): ChatKit receives exactly one ``CancelledError`` at the point where it
was waiting, saves what was streamed, and re-raises. The response then waits for that clean-up to
finish. The ChatKit iterator is consumed directly, never wrapped in a generator that could swallow the
cancellation or stop iterating and call ``aclose()`` instead.

A stream that reaches its ``deadline`` (``STREAM_DEADLINE_SECONDS`` after the request arrived, see
:mod:`task_assistant.web.deadline`) is stopped the same way: the turn is cancelled once (ChatKit saves the
partial answer), the client gets a retryable error event saying so, and the stream ends after the clean-up.
A fault after the stream started ends it with a retryable error event too; when the fault is a dependency
that is throttling or unreachable, the event says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterable, Mapping

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from task_assistant.log import logger
from task_assistant.storage.failures import BUSY_MESSAGE, dependency_failure

STREAM_ERROR_EVENT = b'data: {"type":"error","code":"stream.error","allow_retry":true}\n\n'
"""What ChatKit itself sends when a turn fails (its ``ErrorEvent`` for ``stream.error``)."""

DEADLINE_MESSAGE = (
    "This answer took too long and was stopped; what was already written is saved. Try again in a moment."
)
DEPENDENCY_MESSAGE = BUSY_MESSAGE
"""A stream that a storage failure ended: the same words as a ChatKit write that fails inside the turn."""


def error_event(message: str) -> bytes:
    """A retryable ChatKit error event carrying ``message`` (chatkit's ``ErrorEvent`` with code custom)."""
    event = {"type": "error", "code": "custom", "message": message, "allow_retry": True}
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


class EventStreamResponse(Response):
    """Streams ``content`` (already framed as ``data: ...\\n\\n`` chunks) as each chunk is produced."""

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[bytes],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        deadline: float | None = None,
    ) -> None:
        """``deadline``: the ``time.monotonic()`` instant the stream must end by (None: no limit)."""
        self.body_iterator = content
        self.status_code = status_code
        self.background = background
        self.deadline = deadline
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        producer = asyncio.ensure_future(self._produce(send))
        watcher = asyncio.ensure_future(self._wait_for_disconnect(receive))
        timed_out = False
        try:
            remaining = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            done, _ = await asyncio.wait(
                {producer, watcher}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            timed_out = not done
        finally:
            watcher.cancel()
            if not producer.done():
                if timed_out:
                    logger.warning("stream deadline passed; stopping the turn")
                else:
                    logger.info("client disconnected mid-stream; cancelling the turn")
                producer.cancel()
            if timed_out:
                # Told at once; the stream ends once the partial answer is saved (below).
                await self._send_quietly(send, error_event(DEADLINE_MESSAGE))
            # Wait for the producer's cancellation handling (ChatKit saves the partial answer there).
            # Shielded: if this task is cancelled meanwhile, the clean-up still runs to the end.
            await asyncio.shield(asyncio.gather(producer, watcher, return_exceptions=True))
        if timed_out:
            await self._send_quietly(send, b"", more_body=False)
        elif not producer.cancelled():
            error = producer.exception()
            if error is not None:
                await self._fail(send, error)
        if self.background is not None:
            await self.background()

    async def _produce(self, send: Send) -> None:
        async for chunk in self.body_iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _fail(self, send: Send, error: BaseException) -> None:
        """A fault after the stream started: log it, end the stream with a ChatKit error event.

        The status line has gone out already, so the client learns of the failure the way ChatKit
        reports in-stream errors (a retryable error event), never from a cut connection or a trace.
        """
        failure = dependency_failure(error)
        if failure is not None:
            logger.warning(
                "stream ended by a dependency failure",
                extra={"kind": failure.kind, "error_type": failure.error_type},
            )
            event = error_event(DEPENDENCY_MESSAGE)
        else:
            logger.error("stream failed after it started", exc_info=(type(error), error, error.__traceback__))
            event = STREAM_ERROR_EVENT
        await self._send_quietly(send, event)
        await self._send_quietly(send, b"", more_body=False)

    @staticmethod
    async def _send_quietly(send: Send, body: bytes, *, more_body: bool = True) -> None:
        with contextlib.suppress(OSError):  # the client is gone
            await send({"type": "http.response.body", "body": body, "more_body": more_body})

    @staticmethod
    async def _wait_for_disconnect(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

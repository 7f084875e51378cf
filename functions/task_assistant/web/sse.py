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
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Mapping

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from task_assistant.log import logger

STREAM_ERROR_EVENT = b'data: {"type":"error","code":"stream.error","allow_retry":true}\n\n'
"""What ChatKit itself sends when a turn fails (its ``ErrorEvent`` for ``stream.error``)."""


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
    ) -> None:
        self.body_iterator = content
        self.status_code = status_code
        self.background = background
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        producer = asyncio.ensure_future(self._produce(send))
        watcher = asyncio.ensure_future(self._wait_for_disconnect(receive))
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not producer.done():
                logger.info("client disconnected mid-stream; cancelling the turn")
                producer.cancel()
            # Wait for the producer's cancellation handling (ChatKit saves the partial answer there).
            # Shielded: if this task is cancelled meanwhile, the clean-up still runs to the end.
            await asyncio.shield(asyncio.gather(producer, watcher, return_exceptions=True))
        if not producer.cancelled():
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
        reports in-stream errors (a retryable ``stream.error``), never from a cut connection or a trace.
        """
        logger.error("stream failed after it started", exc_info=(type(error), error, error.__traceback__))
        try:
            await send({"type": "http.response.body", "body": STREAM_ERROR_EVENT, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client is gone too

    @staticmethod
    async def _wait_for_disconnect(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

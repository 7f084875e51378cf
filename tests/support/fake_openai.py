"""A fake OpenAI API on loopback: real HTTP, real SSE, scripted answers, recorded requests.

It speaks the wire format the official ``openai`` client parses, so the production model classes
(``OpenAIResponsesModel``, ``OpenAIChatCompletionsModel``) run unmodified against it:

- ``POST /v1/responses`` with ``stream: true``: ``response.created``, ``response.in_progress``,
  ``response.output_item.added``, ``response.content_part.added``, ``response.output_text.delta`` (several),
  ``response.output_text.done``, ``response.content_part.done``, ``response.function_call_arguments.delta``
  / ``.done``, ``response.output_item.done``, ``response.completed``;
- ``POST /v1/chat/completions`` with ``stream: true``: ``chat.completion.chunk`` deltas (content and
  tool calls), a finish reason, then ``[DONE]``;
- ``POST /v1/audio/transcriptions``: a multipart upload (``file``, ``model``, ``response_format``),
  answered ``{"text": ...}``.

Requests the real API would refuse with a 400 (an assistant message in a form the API does not take, a
tool result answering no call: :mod:`fake_openai_rules`) are refused the same way, and recorded.

Each request takes the next scripted turn. A turn is a list of outputs (:class:`Text`, :class:`Call`),
a :class:`Transcript` (for a transcription request),
a callable that builds them from the request body (to act on what the model was actually sent), or a
failure (:class:`Fail` answers with an HTTP error; :class:`Break` streams part of an answer and then drops
the connection or ends the response; :class:`Hold` streams part of an answer and waits until released).
Every request body and its headers are recorded in :attr:`FakeOpenAI.requests`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from support.fake_openai_rules import chat_messages_problem, responses_input_problem

# The scripted turns live in fake_openai_script; tests import them from here.
from support.fake_openai_script import (
    Break,
    Call,
    Fail,
    Hold,
    Output,
    RecordedRequest,
    Text,
    Transcript,
    Turn,
)
from task_assistant.local.embedded import free_port

__all__ = [
    "Break",
    "Call",
    "Fail",
    "FakeOpenAI",
    "Hold",
    "Output",
    "RecordedRequest",
    "Text",
    "Transcript",
    "Turn",
]


def _chunks(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class FakeOpenAI:
    """The fake API server; ``with FakeOpenAI() as api: api.script(...); api.base_url``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.turns: deque[Turn] = deque()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        app = Starlette(
            routes=[
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` should be."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting --------------------------------------------------------------------------------

    def script(self, *turns: Turn) -> None:
        """Queue the answers to the next requests, one turn per request."""
        with self._lock:
            self.turns.extend(turns)

    def reset(self) -> None:
        with self._lock:
            self.turns.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        return len(self.turns)

    async def _next(
        self, request: Request, body: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], Turn | None]:
        body = await request.json() if body is None else body
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
            turn = self.turns.popleft() if self.turns else None
        return body, turn

    @staticmethod
    def _error(fail: Fail) -> Response:
        return JSONResponse(
            {"error": {"message": fail.message, "type": fail.type, "param": None, "code": None}},
            status_code=fail.status,
            # The official client honours retry-after-ms: retries stay fast in tests.
            headers={"retry-after-ms": "10"},
        )

    # --- /v1/responses ----------------------------------------------------------------------------

    async def _responses(self, request: Request) -> Response:
        body, turn = await self._next(request)
        problem = responses_input_problem(body)
        if problem:
            return self._error(Fail(400, problem, "invalid_request_error"))
        if turn is None:
            return self._error(Fail(500, "fake OpenAI: no scripted turn left"))
        if isinstance(turn, Fail):
            return self._error(turn)
        if callable(turn):
            turn = turn(body)
        return StreamingResponse(self._response_events(body, turn), media_type="text/event-stream")

    async def _response_events(self, body: dict[str, Any], turn: Turn) -> AsyncIterator[bytes]:
        seq = iter(range(1_000_000))
        response_id = _id("resp")
        base = {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "model": body.get("model", "fake"),
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "status": "in_progress",
        }
        yield _sse({"type": "response.created", "sequence_number": next(seq), "response": base})
        yield _sse({"type": "response.in_progress", "sequence_number": next(seq), "response": base})

        outputs: list[Output]
        if isinstance(turn, Break | Hold):
            outputs = [Text(turn.text)]
        else:
            assert isinstance(turn, list)
            outputs = turn
        done_items: list[dict[str, Any]] = []
        for index, output in enumerate(outputs):
            if isinstance(output, Call):
                item_id, call_id = _id("fc"), _id("call")
                args = json.dumps(output.arguments)
                item = {"type": "function_call", "id": item_id, "call_id": call_id, "name": output.name}
                yield _sse(
                    {
                        "type": "response.output_item.added",
                        "sequence_number": next(seq),
                        "output_index": index,
                        "item": {**item, "arguments": "", "status": "in_progress"},
                    }
                )
                for piece in _chunks(args, 2):
                    yield _sse(
                        {
                            "type": "response.function_call_arguments.delta",
                            "sequence_number": next(seq),
                            "item_id": item_id,
                            "output_index": index,
                            "delta": piece,
                        }
                    )
                yield _sse(
                    {
                        "type": "response.function_call_arguments.done",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": index,
                        "arguments": args,
                    }
                )
                done: dict[str, Any] = {**item, "arguments": args, "status": "completed"}
            else:
                item_id = _id("msg")
                message = {"type": "message", "id": item_id, "role": "assistant", "status": "in_progress"}
                yield _sse(
                    {
                        "type": "response.output_item.added",
                        "sequence_number": next(seq),
                        "output_index": index,
                        "item": {**message, "content": []},
                    }
                )
                part = {"type": "output_text", "text": "", "annotations": []}
                yield _sse(
                    {
                        "type": "response.content_part.added",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": index,
                        "content_index": 0,
                        "part": part,
                    }
                )
                for n, piece in enumerate(_chunks(output.text, output.chunks)):
                    if isinstance(turn, Break) and n == turn.after_deltas:
                        if turn.drop:
                            # Abort mid-answer: the chunked body never terminates.
                            raise ConnectionAbortedError("fake OpenAI: stream broken on purpose")
                        return
                    yield _sse(
                        {
                            "type": "response.output_text.delta",
                            "sequence_number": next(seq),
                            "item_id": item_id,
                            "output_index": index,
                            "content_index": 0,
                            "delta": piece,
                            "logprobs": [],
                        }
                    )
                    if isinstance(turn, Hold) and n == 0:
                        turn.first_delta_sent.set()
                        await asyncio.to_thread(turn.released.wait, 30)
                text_part = {**part, "text": output.text}
                yield _sse(
                    {
                        "type": "response.output_text.done",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": index,
                        "content_index": 0,
                        "text": output.text,
                        "logprobs": [],
                    }
                )
                yield _sse(
                    {
                        "type": "response.content_part.done",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": index,
                        "content_index": 0,
                        "part": text_part,
                    }
                )
                done = {**message, "status": "completed", "content": [text_part]}
            done_items.append(done)
            yield _sse(
                {
                    "type": "response.output_item.done",
                    "sequence_number": next(seq),
                    "output_index": index,
                    "item": done,
                }
            )
        usage = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 15,
        }
        yield _sse(
            {
                "type": "response.completed",
                "sequence_number": next(seq),
                "response": {**base, "status": "completed", "output": done_items, "usage": usage},
            }
        )

    # --- /v1/chat/completions ---------------------------------------------------------------------

    async def _chat_completions(self, request: Request) -> Response:
        body, turn = await self._next(request)
        problem = chat_messages_problem(body)
        if problem:
            return self._error(Fail(400, problem, "invalid_request_error"))
        if turn is None:
            return self._error(Fail(500, "fake OpenAI: no scripted turn left"))
        if isinstance(turn, Fail):
            return self._error(turn)
        if callable(turn):
            turn = turn(body)
        assert isinstance(turn, list | Break), "chat completions supports text, calls and breaks"
        return StreamingResponse(self._chat_chunks(body, turn), media_type="text/event-stream")

    async def _chat_chunks(self, body: dict[str, Any], turn: list[Output] | Break) -> AsyncIterator[bytes]:
        completion_id = _id("chatcmpl")
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        outputs = [Text(turn.text)] if isinstance(turn, Break) else turn
        calls = [o for o in outputs if isinstance(o, Call)]
        for output in outputs:
            if isinstance(output, Text):
                for n, piece in enumerate(_chunks(output.text, output.chunks)):
                    if isinstance(turn, Break) and n == turn.after_deltas:
                        if turn.drop:
                            raise ConnectionAbortedError("fake OpenAI: stream broken on purpose")
                        return
                    yield chunk({"content": piece})
        for index, call in enumerate(calls):
            args = json.dumps(call.arguments)
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": _id("call"),
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _chunks(args, 2):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls" if calls else "stop")
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        final = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.get("model", "fake"),
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    # --- /v1/audio/transcriptions -----------------------------------------------------------------

    async def _transcriptions(self, request: Request) -> Response:
        form = await request.form()
        upload, model = form.get("file"), form.get("model")
        if not isinstance(upload, UploadFile) or not isinstance(model, str):
            body: dict[str, Any] = {"fields": sorted(form.keys())}
            await self._next(request, body)
            return self._error(Fail(400, "file and model are required", "invalid_request_error"))
        data = await upload.read()
        body = {
            "model": model,
            "response_format": form.get("response_format"),
            "filename": upload.filename,
            "content_type": upload.content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        _, turn = await self._next(request, body)
        if isinstance(turn, Fail):
            return self._error(turn)
        if not isinstance(turn, Transcript):
            return self._error(Fail(500, "fake OpenAI: no transcript scripted"))
        return JSONResponse({"text": turn.text, "usage": {"type": "duration", "seconds": 1}})

"""Helpers for the web tests (imported by name: the tests directory is not a package)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import uvicorn
from agents.models.interface import Model
from starlette.types import ASGIApp

from task_assistant.agent.models import ModelFactory
from task_assistant.agent.offline import OfflineModel
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings


class LiveServer:
    """``app`` under uvicorn on ``127.0.0.1:<free port>`` in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        started = threading.Event()

        # uvicorn sets `started` once the socket listens; poll it without sleeping blindly for long.
        for _ in range(500):
            if self.server.started:
                started.set()
                break
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not started.is_set():
            raise RuntimeError("uvicorn did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    with LiveServer(app) as live:
        yield live.url


def bearer(issuer: LocalIssuer, user: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.mint(user, **kwargs)}"}


class PacedModel(OfflineModel):
    """The offline model, pausing ``delay`` seconds before each text delta (a slow, scripted model).

    Answers are the offline model's (deterministic); only their timing changes, so tests can tell a
    stream that is written as it is produced from one buffered until the end.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for event in super().stream_response(*args, **kwargs):
            if getattr(event, "type", "") == "response.output_text.delta":
                await asyncio.sleep(self.delay)
            yield event


class FixedModel(ModelFactory):
    """A model factory that always answers with the given model."""

    def __init__(self, settings: Settings, model: Model) -> None:
        super().__init__(settings)
        self._fixed = model

    async def get_model(self, name: str | None = None) -> Model:
        return self._fixed


def chatkit_factory(model: Model | None = None) -> Callable[[Settings], Any]:
    """A ``Services(chatkit_factory=...)`` building the real server, optionally with ``model``."""

    def build(settings: Settings) -> Any:
        server = build_chatkit_server(settings)
        if model is not None:
            server.models = FixedModel(settings, model)
        return server

    return build


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse ``data: <json>`` events from a streaming httpx response as they arrive."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def user_message(text: str, attachments: list[str] | None = None) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "quoted_text": "",
        "attachments": attachments or [],
        "inference_options": {},
    }


class ChatKitCaller:
    """A minimal ChatKit protocol client for tests (one user, one token)."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def post(self, kind: str, params: dict[str, Any]) -> httpx.Response:
        return self.client.post("/chatkit", json={"type": kind, "params": params})

    def call(self, kind: str, params: dict[str, Any]) -> Any:
        """A non-streaming request that must succeed; its JSON."""
        response = self.post(kind, params)
        assert response.status_code == 200, response.text
        return response.json()

    def stream(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """A streaming request that must succeed; all its events."""
        with self.client.stream("POST", "/chatkit", json={"type": kind, "params": params}) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            return list(sse_events(response))

    def new_thread(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        events = self.stream("threads.create", {"input": user_message(text)})
        thread_id = next(e["thread"]["id"] for e in events if e["type"] == "thread.created")
        return thread_id, events

    def items(self, thread_id: str) -> list[dict[str, Any]]:
        page = self.call("items.list", {"thread_id": thread_id, "order": "asc", "limit": 100})
        return list(page["data"])

    def close(self) -> None:
        self.client.close()


def assistant_text(events_or_items: list[dict[str, Any]]) -> str:
    """The text of the assistant messages among thread items or ``thread.item.done`` events."""
    texts = []
    for entry in events_or_items:
        item = entry.get("item", entry) if entry.get("type") == "thread.item.done" else entry
        if item.get("type") == "assistant_message":
            texts.append("".join(part.get("text", "") for part in item.get("content", [])))
    return "\n".join(texts)

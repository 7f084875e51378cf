"""Streaming is real: uvicorn on loopback, read with httpx as bytes arrive, with a model that pauses
between text deltas, and one that produces each delta only after the client has read the one before (so
nothing can batch). Also: a client that disconnects mid-answer leaves the partial answer saved."""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from support.web import (
    ChatKitCaller,
    PacedModel,
    assistant_text,
    chatkit_factory,
    serve,
    sse_events,
    user_message,
)
from task_assistant.agent.offline import OfflineModel
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services

DELAY = 0.3


@pytest.fixture(scope="module")
def paced_url(web_settings: Settings) -> Iterator[str]:
    services = Services(web_settings, chatkit_factory=chatkit_factory(PacedModel(DELAY)))
    app: FastAPI = create_app(web_settings, door="function_url", services=services)
    with serve(app) as url:
        yield url


def test_events_are_written_as_they_are_produced(paced_url: str, issuer: LocalIssuer, user: str) -> None:
    body = {"type": "threads.create", "params": {"input": user_message("hello")}}
    arrivals: list[float] = []
    deltas: list[str] = []
    with httpx.Client(timeout=30) as client:
        start = time.monotonic()
        headers = {"Authorization": f"Bearer {issuer.mint(user)}"}
        with client.stream("POST", f"{paced_url}/chatkit", json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            for event in sse_events(response):
                if event["type"] == "thread.item.updated" and event["update"]["type"].endswith("text_delta"):
                    arrivals.append(time.monotonic() - start)
                    deltas.append(event["update"]["delta"])
            end = time.monotonic() - start
    assert len(deltas) >= 3
    # Each delta reached the client when the model produced it: the first long before the last, and
    # deltas typically one model pause apart. A stream buffered until the end would deliver them all at
    # once, after the last pause.
    assert arrivals[-1] - arrivals[0] >= (len(deltas) - 1) * DELAY * 0.8
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert statistics.median(gaps) >= DELAY * 0.5
    assert arrivals[0] < end - (len(deltas) - 1) * DELAY * 0.8


class LockstepModel(OfflineModel):
    """Answers in ``tokens`` deltas and yields each one only once the client has read the one before.

    The wait is bounded: a delta the client never saw in time is noted in ``unseen`` and the model goes
    on, so a stack that holds events back fails the test rather than hanging it.
    """

    def __init__(self, tokens: int, wait_seconds: float = 5.0) -> None:
        self.tokens = tokens
        self.wait_seconds = wait_seconds
        self.read = [threading.Event() for _ in range(tokens)]
        self.unseen: list[int] = []

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        started = False
        async for event in super().stream_response(*args, **kwargs):
            if getattr(event, "type", "") != "response.output_text.delta":
                yield event
            elif not started:
                started = True
                for n in range(self.tokens):
                    if n and not await asyncio.to_thread(self.read[n - 1].wait, self.wait_seconds):
                        self.unseen.append(n - 1)
                    yield event.model_copy(update={"delta": f"<{n}> "})


def test_each_delta_reaches_the_client_before_the_next_is_produced(
    web_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    model = LockstepModel(tokens=8)
    services = Services(web_settings, chatkit_factory=chatkit_factory(model))
    body = {"type": "threads.create", "params": {"input": user_message("hello")}}
    per_read: list[list[int]] = []
    with serve(create_app(web_settings, door="function_url", services=services)) as url:
        headers = {"Authorization": f"Bearer {issuer.mint(user)}"}
        with httpx.stream("POST", f"{url}/chatkit", json=body, headers=headers, timeout=60) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                seen = [int(n) for n in re.findall(rb"<(\d+)> ", chunk)]
                per_read.append(seen)
                for n in seen:
                    model.read[n].set()
    assert model.unseen == [], f"deltas {model.unseen} were not at the client when the next was produced"
    delivered = [n for seen in per_read for n in seen]
    assert delivered == list(range(model.tokens))
    assert all(len(seen) <= 1 for seen in per_read), per_read  # one delta per network read: no batching


def test_disconnect_mid_answer_keeps_the_partial_answer(
    paced_url: str, issuer: LocalIssuer, user: str
) -> None:
    chat = ChatKitCaller(paced_url, issuer.mint(user))
    # A complete answer to the same message, for comparison.
    _, full_events = chat.new_thread("hello")
    full_text = assistant_text(full_events)
    assert len(full_text) > 20

    received = ""
    thread_id = None
    body = {"type": "threads.create", "params": {"input": user_message("hello")}}
    with chat.client.stream("POST", "/chatkit", json=body) as response:
        for event in sse_events(response):
            if event["type"] == "thread.created":
                thread_id = event["thread"]["id"]
            if event["type"] == "thread.item.updated" and event["update"]["type"].endswith("text_delta"):
                received += event["update"]["delta"]
                break  # leave mid-answer: closing the response closes the connection
    assert thread_id is not None and received

    # The server notices the disconnect, cancels the turn and saves what was streamed so far. Wait for
    # that (bounded), reading the thread the way the widget would.
    deadline = time.monotonic() + 10
    saved = ""
    while time.monotonic() < deadline:
        saved = assistant_text(chat.items(thread_id))
        if saved:
            break
        time.sleep(0.05)
    assert saved, "partial assistant message was not saved"
    assert saved.startswith(received)
    assert len(saved) < len(full_text) and full_text.startswith(saved)
    chat.close()

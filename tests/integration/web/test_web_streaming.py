"""Streaming is real: uvicorn on loopback, read with httpx as bytes arrive, with a model that pauses
between text deltas. Also: a client that disconnects mid-answer leaves the partial answer saved."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from web_helpers import (
    ChatKitCaller,
    PacedModel,
    assistant_text,
    chatkit_factory,
    serve,
    sse_events,
    user_message,
)

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

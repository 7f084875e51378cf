"""Two tabs, one thread: concurrent messages into one thread over real HTTP, each answered on its own."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from support.web import (
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

CONCURRENT_MESSAGES = 8


@pytest.fixture(scope="module")
def paced_chat_url(web_settings: Settings) -> Iterator[str]:
    """The function-URL app answering with the offline model slowed a little, so the turns overlap."""
    services = Services(web_settings, chatkit_factory=chatkit_factory(PacedModel(0.02)))
    with serve(create_app(web_settings, door="function_url", services=services)) as url:
        yield url


@dataclass
class Sent:
    text: str
    status: int
    events: list[dict[str, Any]]
    started: float
    ended: float


def _send(url: str, token: str, thread_id: str, text: str) -> Sent:
    caller = ChatKitCaller(url, token)
    started = time.monotonic()
    try:
        body = {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_message(text)},
        }
        with caller.client.stream("POST", "/chatkit", json=body) as response:
            events = list(sse_events(response)) if response.status_code == 200 else []
            return Sent(text, response.status_code, events, started, time.monotonic())
    finally:
        caller.close()


def _most_at_once(sent: list[Sent]) -> int:
    edges = sorted([(s.started, 1) for s in sent] + [(s.ended, -1) for s in sent])
    open_now = most = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def test_concurrent_messages_into_one_thread_are_each_answered_on_their_own(
    paced_chat_url: str, issuer: LocalIssuer, user: str
) -> None:
    token = issuer.mint(user)
    caller = ChatKitCaller(paced_chat_url, token)
    thread_id, _ = caller.new_thread("hello")
    titles = [f"kiwi{n:02d}" for n in range(CONCURRENT_MESSAGES)]

    with ThreadPoolExecutor(CONCURRENT_MESSAGES) as pool:
        sent = list(pool.map(lambda t: _send(paced_chat_url, token, thread_id, f"add {t}"), titles))
    assert _most_at_once(sent) >= CONCURRENT_MESSAGES // 2  # the turns did run at the same time

    for title, one in zip(titles, sent, strict=True):
        assert one.status == 200, (title, one.status)
        assert not [e for e in one.events if e["type"] == "error"], (title, one.events)
        reply = assistant_text(one.events)
        # Each reply is about its own message, and only its own.
        assert title in reply, (title, reply)
        assert not [other for other in titles if other != title and other in reply], (title, reply)

    tasks = caller.client.get("/tasks", params={"limit": 100}).json()["tasks"]
    assert Counter(t["title"] for t in tasks) == Counter(titles)  # every request done, once

    items = caller.items(thread_id)
    caller.close()
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))  # every item stored once
    kinds = [item["type"] for item in items]
    assert kinds.count("user_message") == kinds.count("assistant_message") == CONCURRENT_MESSAGES + 1
    # What each turn's tools did sits between its question and its answer.
    for n, kind in enumerate(kinds):
        if kind == "workflow":
            assert kinds[n - 1] == "user_message" and kinds[n + 1] == "assistant_message", kinds
    # A reload shows every answer right under its own question.
    exchanges = [item for item in items if item["type"] != "workflow"]
    for question, answer in zip(exchanges[2::2], exchanges[3::2], strict=True):
        assert question["type"] == "user_message" and answer["type"] == "assistant_message", kinds
        asked = question["content"][0]["text"].removeprefix("add ")
        assert asked in assistant_text([answer]), (asked, answer)


def test_a_retry_over_http_regenerates_the_answer_without_adding_again(
    chat_url: str, issuer: LocalIssuer, user: str
) -> None:
    caller = ChatKitCaller(chat_url, issuer.mint(user))
    try:
        thread_id, events = caller.new_thread("add kiwi")
        asked = next(e["item"]["id"] for e in events if e["type"] == "thread.item.done")
        again = caller.stream("threads.retry_after_item", {"thread_id": thread_id, "item_id": asked})
        assert not [e for e in again if e["type"] == "error"]
        assert "Added \u201ckiwi\u201d" in assistant_text(again)
        tasks = caller.client.get("/tasks").json()["tasks"]
        assert [t["title"] for t in tasks] == ["kiwi"]
    finally:
        caller.close()

"""DynamoDB requests of one chat turn over HTTP, and the gate-to-store preloaded thread that keeps it low."""

from __future__ import annotations

import asyncio
import io
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from chatkit.store import NotFoundError
from chatkit.types import ThreadMetadata

from support.web import ChatKitCaller, serve, user_message
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.log import SERVICE_NAME
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client
from task_assistant.web.app import create_app
from task_assistant.web.rate_limits import RateLimitStore
from task_assistant.web.services import Services

#: Issue 3's budget for a turn without tool calls: rate-limit counter, thread, history, user message,
#: assistant message, thread metadata. (Issue 13 keeps it; a follow-up turn now makes 5.)
MAX_REQUESTS_PER_TURN = 6


class DynamoDBRequests:
    """Counts every HTTP request (retries included) one boto3 client sends, by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@pytest.fixture(scope="module")
def counted() -> DynamoDBRequests:
    return DynamoDBRequests()


@pytest.fixture(scope="module")
def counted_chat_url(web_settings: Settings, counted: DynamoDBRequests) -> Iterator[str]:
    """The function-URL app with rate limiting on, every DynamoDB call on one counted client."""
    settings = web_settings.model_copy(update={"rate_limit_per_minute": 1000})
    ddb = dynamodb_client(settings)
    ddb.meta.events.register("before-send.dynamodb.*", counted)
    services = Services(
        settings,
        chatkit_server=build_chatkit_server(settings, dynamodb=ddb),
        rate_limits=RateLimitStore(settings, client=ddb),
    )
    with serve(create_app(settings, door="function_url", services=services)) as url:
        yield url


def test_no_tool_turn_over_http_stays_within_budget(
    counted_chat_url: str, counted: DynamoDBRequests, issuer: LocalIssuer, user: str
) -> None:
    caller = ChatKitCaller(counted_chat_url, issuer.mint(user))
    try:
        thread_id, _ = caller.new_thread("hello")
        counted.calls.clear()
        events = caller.stream(
            "threads.add_user_message", {"thread_id": thread_id, "input": user_message("hello again")}
        )
    finally:
        caller.close()
    done = [e["item"]["type"] for e in events if e["type"] == "thread.item.done"]
    assert "assistant_message" in done and "client_tool_call" not in done
    assert counted.calls["UpdateItem"] == 1, counted.calls  # the rate-limit counter is still counted
    assert counted.calls["GetItem"] == 1, counted.calls  # the gate's; the server reuses its thread
    assert counted.calls["Query"] == 1, counted.calls  # the history; ChatKit's newest-two read reuses it
    assert counted.total <= MAX_REQUESTS_PER_TURN, counted.calls


def test_turns_log_nothing_at_info(counted_chat_url: str, issuer: LocalIssuer, user: str) -> None:
    """The log budget (docs/benchmarks.md): a turn that goes well writes no application log line at INFO,
    so what CloudWatch ingests per turn is the server's one access line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    app_logger = logging.getLogger(SERVICE_NAME)
    level = app_logger.level
    app_logger.setLevel(logging.INFO)
    app_logger.addHandler(handler)
    caller = ChatKitCaller(counted_chat_url, issuer.mint(user))
    try:
        thread_id, _ = caller.new_thread("hello")
        for text in ("hello again", "add buy milk", "list my tasks"):
            caller.stream("threads.add_user_message", {"thread_id": thread_id, "input": user_message(text)})
    finally:
        caller.close()
        app_logger.removeHandler(handler)
        app_logger.setLevel(level)
    assert stream.getvalue() == ""


def _ctx(user: str) -> RequestContext:
    return RequestContext(user_id=user, request_id="r", claims={})


async def test_preloaded_thread_is_used_once_and_only_for_its_thread_and_user(web_settings: Settings) -> None:
    store = DynamoDBStore(web_settings)
    counted = DynamoDBRequests()
    store.dynamodb.meta.events.register("before-send.dynamodb.*", counted)
    alice, bob = _ctx("handoff-alice"), _ctx("handoff-bob")
    thread = ThreadMetadata(id="thr_handoff", created_at=datetime(2026, 1, 1), title="stored")
    await store.save_thread(thread, alice)

    loaded = await store.load_thread(thread.id, alice)
    counted.calls.clear()
    request = alice.with_preloaded_thread(loaded)
    # Another user's load of the same id (even on a context carrying Alice's thread), and another
    # thread: read the table, leave the preloaded thread where it is.
    with pytest.raises(NotFoundError):
        await store.load_thread(thread.id, bob)
    with pytest.raises(NotFoundError):
        await store.load_thread(thread.id, replace(request, user_id=bob.user_id))
    with pytest.raises(NotFoundError):
        await store.load_thread("thr_other", request)
    assert counted.total == 3
    # A task started by the request (as chatkit's stream is) gets the context, and uses the thread up.
    first = await asyncio.create_task(store.load_thread(thread.id, request))
    assert first is loaded and counted.total == 3
    second = await store.load_thread(thread.id, request)  # later loads read fresh
    assert second is not loaded and second.title == "stored" and counted.total == 4
    # Nothing leaks to a context without it (another request of the same caller).
    fresh = await store.load_thread(thread.id, alice)
    assert fresh.title == "stored" and counted.total == 5

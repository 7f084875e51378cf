"""The rate-limit count runs alongside the ChatKit gate's reads, and still decides first.

The per-user counter (a DynamoDB ``UpdateItem``) and the gate's ownership read (a ``GetItem``) are in
flight together, so a turn's first event waits for one round trip fewer; over the limit the answer is
still a 429 (never the gate's 404 or 400) and nothing is written.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from support.web import ChatKitCaller, serve, user_message
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client
from task_assistant.web.admission import Admission
from task_assistant.web.app import create_app
from task_assistant.web.errors import RateLimited
from task_assistant.web.rate_limits import RateLimitStore
from task_assistant.web.services import Services

# Bounds a wait that only a regression would exhaust (then the test fails instead of hanging).
_WAIT_SECONDS = 10


class CountHeldForGateRead:
    """Holds the rate-limit ``UpdateItem`` on its worker thread until a ``GetItem`` has been sent.

    If the gate's read only starts once the count is done, the hold runs out and ``overlapped`` stays
    False: proof by construction, not by timing.
    """

    def __init__(self) -> None:
        self.armed = False
        self.read_sent = threading.Event()
        self.overlapped: bool | None = None

    def on_update(self, **_: Any) -> None:
        if self.armed:
            self.armed = False
            self.overlapped = self.read_sent.wait(_WAIT_SECONDS)

    def on_get(self, **_: Any) -> None:
        self.read_sent.set()


@pytest.fixture(scope="module")
def held() -> CountHeldForGateRead:
    return CountHeldForGateRead()


@pytest.fixture(scope="module")
def held_url(web_settings: Settings, held: CountHeldForGateRead) -> Iterator[str]:
    settings = web_settings.model_copy(update={"rate_limit_per_minute": 1000})
    ddb = dynamodb_client(settings)
    ddb.meta.events.register("before-send.dynamodb.UpdateItem", held.on_update)
    ddb.meta.events.register("before-send.dynamodb.GetItem", held.on_get)
    services = Services(
        settings,
        chatkit_server=build_chatkit_server(settings, dynamodb=ddb),
        rate_limits=RateLimitStore(settings, client=ddb),
    )
    with serve(create_app(settings, door="function_url", services=services)) as url:
        yield url


def test_count_and_ownership_read_are_in_flight_together(
    held_url: str, held: CountHeldForGateRead, issuer: LocalIssuer, user: str
) -> None:
    caller = ChatKitCaller(held_url, issuer.mint(user))
    try:
        thread_id, _ = caller.new_thread("hello")
        held.read_sent.clear()
        held.armed = True
        events = caller.stream(
            "threads.add_user_message", {"thread_id": thread_id, "input": user_message("hello again")}
        )
    finally:
        caller.close()
    assert held.overlapped is True, "the gate's GetItem waited for the rate-limit count"
    assert events[0]["type"] == "thread.item.done" and events[0]["item"]["type"] == "user_message"
    assert any(e["type"] == "thread.item.done" and e["item"]["type"] == "assistant_message" for e in events)


@pytest.fixture(scope="module")
def limited(web_settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The app with a limit of 2 requests per user per (frozen) window, and its settings."""
    settings = web_settings.model_copy(update={"rate_limit_per_minute": 2})
    limits = RateLimitStore(settings, clock=lambda: 1_800_000_010.0)
    services = Services(settings, chatkit_server=build_chatkit_server(settings), rate_limits=limits)
    with serve(create_app(settings, door="function_url", services=services)) as url:
        yield url, settings


def test_over_the_limit_chatkit_is_429_whatever_the_gate_finds_and_writes_nothing(
    limited: tuple[str, Settings], issuer: LocalIssuer, user: str
) -> None:
    url, settings = limited
    caller = ChatKitCaller(url, issuer.mint(user))
    try:
        thread_id, _ = caller.new_thread("hello")  # 1
        before = [item["id"] for item in caller.items(thread_id)]  # 2: the last request allowed
        refused = [
            caller.post(
                "threads.add_user_message", {"thread_id": thread_id, "input": user_message("one more")}
            ),
            caller.post("threads.add_user_message", {"thread_id": "thr_missing", "input": user_message("x")}),
            caller.post("threads.get_by_id", {"thread_id": "a#b"}),
            caller.client.post(
                "/chatkit", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
        ]
    finally:
        caller.close()
    for response in refused:
        assert response.status_code == 429, response.text
        assert response.json()["error"]["code"] == "rate_limited" and response.headers["Retry-After"] == "50"
    other = ChatKitCaller(url, issuer.mint(user + "-other"))
    try:
        assert other.post("threads.get_by_id", {"thread_id": thread_id}).status_code == 404  # not limited
    finally:
        other.close()
    # The refused message was never saved.
    page = asyncio.run(
        DynamoDBStore(settings).load_thread_items(thread_id, None, 100, "asc", RequestContext(user_id=user))
    )
    assert [item.id for item in page.data] == before and len(before) == 2


async def test_reads_still_running_when_refused_are_cancelled(settings: Settings) -> None:
    limits = RateLimitStore(settings, limit=1)
    context = RequestContext(user_id="admission-refused")
    await limits.hit(context.user_id)  # the one request of this window

    async def limits_of() -> RateLimitStore:
        return limits

    cancelled = asyncio.Event()

    async def reads() -> str:
        try:
            await asyncio.sleep(_WAIT_SECONDS)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "read"

    admission = Admission.start(context, limits_of)
    with pytest.raises(RateLimited):
        await admission.admitted_after(reads())
    assert cancelled.is_set()


async def test_a_counter_that_cannot_be_written_lets_the_request_through(settings: Settings) -> None:
    broken = RateLimitStore(settings.model_copy(update={"chat_table_name": "no-such-table"}), limit=1)

    async def limits_of() -> RateLimitStore:
        return broken

    context = RequestContext(user_id="admission-fail-open")
    assert await Admission.start(context, limits_of).admitted_after(asyncio.sleep(0, "read")) == "read"
    assert await Admission.start(context, limits_of).admitted() is context

"""Paging and order: exclusive cursors, has_more/after, capped limits, created_at order with an id
tie-break, bounded reads, and a walk over 1,000 items in both orders returning every item exactly once."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from chatkit.store import NotFoundError
from chatkit.types import AssistantMessageContent, AssistantMessageItem, Page, ThreadItem, ThreadMetadata

from support.store import RequestLog, ids, seed, thread
from support.store_samples import BASE, assistant_message, user_message
from task_assistant.chat.ids import new_id
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

N = 1000


@pytest.fixture
async def thousand(store: DynamoDBStore, alice: RequestContext) -> list[ThreadItem]:
    """1,000 items added through the store, in shuffled order, with timestamps shared by up to 3 items
    (so the id tie-break decides at page boundaries) and ids unrelated to time."""
    await store.save_thread(ThreadMetadata(id="thr_walk", created_at=BASE), alice)
    rng = random.Random(1000)
    items: list[ThreadItem] = [
        assistant_message("thr_walk", new_id("message"), BASE + timedelta(milliseconds=i // 3), f"#{i}")
        for i in range(N)
    ]
    # Concurrent writes (the store runs boto3 off the event loop, so they overlap) keep set-up short.
    gate = asyncio.Semaphore(8)

    async def add(item: ThreadItem) -> None:
        async with gate:
            await store.add_thread_item("thr_walk", item, alice)

    await asyncio.gather(*(add(item) for item in rng.sample(items, N)))
    return sorted(items, key=lambda i: (i.created_at, i.id))


async def test_walk_returns_each_item_exactly_once_in_both_orders(
    store: DynamoDBStore, alice: RequestContext, thousand: list[ThreadItem]
) -> None:
    # One seeded thread for both walks: moto answers each query in time linear in the partition size.
    limit = 77  # does not divide 1,000: the last page is short
    for order in ("asc", "desc"):
        expected = [i.id for i in (thousand if order == "asc" else reversed(thousand))]
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            page = await store.load_thread_items("thr_walk", after, limit, order, alice)
            pages += 1
            assert len(page.data) == min(limit, N - len(seen))
            seen += [i.id for i in page.data]
            if not page.has_more:
                assert page.after is None
                break
            assert page.after == page.data[-1].id
            after = page.after
        assert seen == expected, order
        assert len(set(seen)) == N
        assert pages == -(-N // limit)


# --- pagination semantics ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_after_is_an_exclusive_cursor_in_the_requested_order(
    store: DynamoDBStore, alice: RequestContext, order: str
) -> None:
    items = [user_message("thr_p", f"msg_{i}", BASE + timedelta(seconds=i)) for i in range(7)]
    await store.save_thread(thread("thr_p"), alice)
    for item in random.Random(1).sample(items, len(items)):
        await store.add_thread_item("thr_p", item, alice)
    expected = [i.id for i in items] if order == "asc" else [i.id for i in reversed(items)]

    pages = []
    after = None
    while True:
        page = await store.load_thread_items("thr_p", after, 3, order, alice)
        pages.append(ids(page))
        if not page.has_more:
            break
        assert page.after == page.data[-1].id
        after = page.after
    assert pages == [expected[0:3], expected[3:6], expected[6:7]]

    # Starting from any item returns exactly what follows it in that order.
    for position, cursor in enumerate(expected):
        page = await store.load_thread_items("thr_p", cursor, 100, order, alice)
        assert ids(page) == expected[position + 1 :]


async def test_has_more_and_after_rules(store: DynamoDBStore, alice: RequestContext) -> None:
    await store.save_thread(thread("thr_h"), alice)
    assert await store.load_thread_items("thr_h", None, 5, "asc", alice) == Page(
        data=[], has_more=False, after=None
    )
    for i in range(6):
        await store.add_thread_item(
            "thr_h", user_message("thr_h", f"msg_{i}", BASE + timedelta(seconds=i)), alice
        )

    first = await store.load_thread_items("thr_h", None, 3, "asc", alice)
    assert (ids(first), first.has_more, first.after) == (["msg_0", "msg_1", "msg_2"], True, "msg_2")
    # Exactly the last page: no more, and no cursor (a cursor with has_more=False is never followed).
    last = await store.load_thread_items("thr_h", first.after, 3, "asc", alice)
    assert (ids(last), last.has_more, last.after) == (["msg_3", "msg_4", "msg_5"], False, None)
    whole = await store.load_thread_items("thr_h", None, 6, "desc", alice)
    assert (whole.has_more, whole.after) == (False, None)
    beyond = await store.load_thread_items("thr_h", "msg_5", 3, "asc", alice)
    assert beyond == Page(data=[], has_more=False, after=None)
    with pytest.raises(NotFoundError):
        await store.load_thread_items("thr_h", "msg_unknown", 3, "asc", alice)
    with pytest.raises(ValueError, match="order"):
        await store.load_thread_items("thr_h", None, 3, "sideways", alice)


async def test_limits_are_capped(
    settings: Settings, store: DynamoDBStore, ddb_log: RequestLog, alice: RequestContext
) -> None:
    cap = settings.page_size_cap
    await seed(store, alice, "thr_big", cap + 20)
    for i in range(cap + 5):
        await store.save_thread(thread(f"thr_{i:04d}", BASE + timedelta(seconds=i)), alice)
    ddb_log.clear()

    items = await store.load_thread_items("thr_big", None, 10**9, "asc", alice)
    threads = await store.load_threads(10**9, None, "desc", alice)
    tiny = await store.load_thread_items("thr_big", None, -3, "asc", alice)
    assert (len(items.data), items.has_more) == (cap, True)
    assert (len(threads.data), threads.has_more) == (cap, True)
    assert len(tiny.data) == 1
    limits = [params["Limit"] for name, params in ddb_log.calls if name == "Query"]
    assert limits and max(limits) == cap + 1


# --- ordering ---------------------------------------------------------------------------------------


async def test_items_ordered_by_created_at_with_id_tie_break(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    await store.save_thread(thread("thr_o"), alice)
    same = BASE + timedelta(seconds=5)
    items = [
        assistant_message("thr_o", "msg_zzz", BASE, "oldest, yet the largest id"),
        assistant_message("thr_o", "msg_b", same, "tie 1"),
        assistant_message("thr_o", "msg_c", same, "tie 2"),
        assistant_message("thr_o", "msg_d", same, "tie 3"),
        assistant_message("thr_o", "msg_a", BASE + timedelta(seconds=5, microseconds=1), "1 µs later"),
        assistant_message("thr_o", "msg_0", BASE + timedelta(days=400), "next year"),
    ]
    for item in [items[3], items[5], items[1], items[4], items[0], items[2]]:
        await store.add_thread_item("thr_o", item, alice)

    assert (await store.load_thread_items("thr_o", None, 10, "asc", alice)).data == items
    assert (await store.load_thread_items("thr_o", None, 10, "desc", alice)).data == items[::-1]
    # The tie-break is stable across page boundaries too.
    page = await store.load_thread_items("thr_o", "msg_b", 1, "asc", alice)
    assert ids(page) == ["msg_c"]
    page = await store.load_thread_items("thr_o", "msg_d", 2, "desc", alice)
    assert ids(page) == ["msg_c", "msg_b"]


async def test_threads_listed_by_creation_time(store: DynamoDBStore, alice: RequestContext) -> None:
    created = {f"thr_{c}": BASE + timedelta(minutes=n) for n, c in enumerate("qwertyui")}
    created["thr_tie"] = created["thr_e"]  # same instant: the id decides
    for thread_id in random.Random(3).sample(sorted(created), len(created)):
        await store.save_thread(thread(thread_id, created[thread_id]), alice)
    expected_asc = sorted(created, key=lambda t: (created[t], t))

    # Renaming a thread does not move it.
    await store.save_thread(thread("thr_q", created["thr_q"], title="renamed"), alice)

    for order, expected in (("asc", expected_asc), ("desc", expected_asc[::-1])):
        seen: list[str] = []
        after = None
        while True:
            page = await store.load_threads(4, after, order, alice)
            seen += ids(page)
            if not page.has_more:
                assert page.after is None
                break
            assert page.after == page.data[-1].id
            after = page.after
        assert seen == expected
    assert (await store.load_thread("thr_q", alice)).title == "renamed"


async def test_assistant_message_ids_from_the_model_need_not_be_time_sortable(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    # Model ids (msg_<hex>) are random; a ULID generated later must still sort after by created_at.
    await store.save_thread(thread("thr_m"), alice)
    early = AssistantMessageItem(
        id="msg_ffffffffffffffff",
        thread_id="thr_m",
        created_at=BASE,
        content=[AssistantMessageContent(text="a")],
    )
    late = user_message("thr_m", new_id("message"), BASE + timedelta(milliseconds=1))
    await store.add_thread_item("thr_m", late, alice)
    await store.add_thread_item("thr_m", early, alice)
    assert ids(await store.load_thread_items("thr_m", None, 1, "desc", alice)) == [late.id]


# --- bounded work -----------------------------------------------------------------------------------


async def _operation_costs(
    store: DynamoDBStore, log: RequestLog, ctx: RequestContext, n: int
) -> dict[str, Any]:
    thread_id = f"thr_len{n}"
    items = await seed(store, ctx, thread_id, n)
    middle = items[n // 2].id
    newest = assistant_message(thread_id, "msg_newest", BASE + timedelta(days=1), "new")
    costs: dict[str, Any] = {}

    async def measure(name: str, call: Any) -> None:
        log.clear()
        await call
        costs[name] = log.counts()
        costs[name + ".limits"] = sorted(p.get("Limit", 0) for op, p in log.calls if op == "Query")

    await measure("load_thread", store.load_thread(thread_id, ctx))
    await measure("first_page_asc", store.load_thread_items(thread_id, None, 20, "asc", ctx))
    await measure("newest_desc", store.load_thread_items(thread_id, None, 20, "desc", ctx))
    await measure("cursor_page", store.load_thread_items(thread_id, middle, 20, "asc", ctx))
    await measure("load_item", store.load_item(thread_id, middle, ctx))
    await measure("add_thread_item", store.add_thread_item(thread_id, newest, ctx))
    await measure("save_item", store.save_item(thread_id, newest, ctx))
    await measure("load_threads", store.load_threads(20, None, "desc", ctx))
    await measure("save_thread", store.save_thread(thread(thread_id, title="renamed"), ctx))
    await measure("delete_thread_item", store.delete_thread_item(thread_id, "msg_newest", ctx))
    return costs


async def test_reads_are_bounded_and_cost_the_same_at_10_and_1000_items(
    store: DynamoDBStore, ddb_log: RequestLog, alice: RequestContext
) -> None:
    small = await _operation_costs(store, ddb_log, alice, 10)
    large = await _operation_costs(store, ddb_log, alice, 1000)
    assert small == large
    assert small["newest_desc"] == {"Query": 1}
    assert small["first_page_asc"] == {"Query": 1}
    assert small["cursor_page"] == {"GetItem": 1, "Query": 1}
    assert small["add_thread_item"] == {"PutItem": 1}
    assert small["load_threads"] == {"Query": 1}
    assert small["newest_desc.limits"] == [21]
    everything = {op for counts in large.values() if isinstance(counts, dict) for op in counts}
    assert everything <= {"GetItem", "Query", "PutItem", "DeleteItem"}

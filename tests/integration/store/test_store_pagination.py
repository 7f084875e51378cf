"""A walk over 1,000 items in both orders returns every item exactly once, in order."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from chatkit.types import ThreadItem, ThreadMetadata
from store_samples import BASE, assistant_message

from task_assistant.chat.ids import new_id
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext

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

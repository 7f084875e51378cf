"""``DynamoDBStore.update_item``: read, change, conditional write; concurrent changes all take effect."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from chatkit.store import NotFoundError
from chatkit.types import ThreadItem

from support.store import incompressible_text, race_item_writes, s3_keys, seed, thread
from support.store_samples import BASE, assistant_message
from task_assistant.chat.ids import new_id
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.dynamodb_store import UPDATE_ATTEMPTS, ItemChangedError
from task_assistant.chat.store.keys import item_key
from task_assistant.chat.store.table import REVISION
from task_assistant.context import RequestContext


def _text(item: ThreadItem) -> str:
    return item.content[0].text  # type: ignore[union-attr]


def _appending(suffix: str) -> Any:
    def change(item: ThreadItem) -> ThreadItem:
        content = item.content[0].model_copy(update={"text": _text(item) + suffix})  # type: ignore[union-attr]
        return item.model_copy(update={"content": [content]})

    return change


async def _message(store: DynamoDBStore, ctx: RequestContext, text: str = "start") -> tuple[str, ThreadItem]:
    thread_id = new_id("thread")
    await store.save_thread(thread(thread_id), ctx)
    item = assistant_message(thread_id, new_id("message"), BASE + timedelta(seconds=1), text)
    await store.add_thread_item(thread_id, item, ctx)
    return thread_id, item


async def test_the_change_is_stored_and_returned(store: DynamoDBStore, alice: RequestContext) -> None:
    thread_id, item = await _message(store, alice)
    updated = await store.update_item(thread_id, item.id, _appending(" +a"), alice)
    assert _text(updated) == "start +a"
    assert await store.load_item(thread_id, item.id, alice) == updated


async def test_concurrent_changes_all_take_effect(
    store: DynamoDBStore, alice: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id, item = await _message(store, alice)
    outcomes = race_item_writes(store, monkeypatch, readers=3)
    await asyncio.gather(
        *(store.update_item(thread_id, item.id, _appending(f" +{n}"), alice) for n in range(3))
    )
    stored = _text(await store.load_item(thread_id, item.id, alice))
    assert sorted(stored.split(" +")[1:]) == ["0", "1", "2"], stored
    # The race happened: two of the first three writes found the item changed and went again.
    assert outcomes[:3] == [True, False, False] and outcomes.count(True) == 3


async def test_an_item_that_keeps_changing_gives_up_with_nothing_lost(
    store: DynamoDBStore, alice: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id, item = await _message(store, alice)
    real = store.rows.replace
    interloper = 0

    async def someone_else_writes_first(*args: Any, **kwargs: Any) -> bool:
        nonlocal interloper
        interloper += 1
        other = await store.load_item(thread_id, item.id, alice)
        await store.save_item(thread_id, _appending(f" other{interloper}")(other), alice)
        return await real(*args, **kwargs)

    monkeypatch.setattr(store.rows, "replace", someone_else_writes_first)
    with pytest.raises(ItemChangedError):
        await store.update_item(thread_id, item.id, _appending(" mine"), alice)
    assert interloper == UPDATE_ATTEMPTS
    stored = _text(await store.load_item(thread_id, item.id, alice))
    assert stored == "start" + "".join(f" other{n}" for n in range(1, UPDATE_ATTEMPTS + 1))


async def test_a_row_written_before_revisions_is_updated(store: DynamoDBStore, alice: RequestContext) -> None:
    thread_id = new_id("thread")
    [item] = await seed(store, alice, thread_id, 1)  # BatchWriteItem: rows without a revision
    row = store.dynamodb.get_item(TableName=store.table, Key=item_key(alice.user_id, thread_id, item.id))[
        "Item"
    ]
    assert REVISION not in row
    updated = await store.update_item(thread_id, item.id, _appending(" +a"), alice)
    assert _text(await store.load_item(thread_id, item.id, alice)) == _text(updated) == "item 0 +a"


async def test_missing_and_foreign_items_are_not_found(
    store: DynamoDBStore, alice: RequestContext, bob: RequestContext
) -> None:
    thread_id, item = await _message(store, alice)
    for ctx, thread_ref, item_ref in ((alice, thread_id, "msg_nope"), (bob, thread_id, item.id)):
        with pytest.raises(NotFoundError):
            await store.update_item(thread_ref, item_ref, _appending(" x"), ctx)
    assert _text(await store.load_item(thread_id, item.id, alice)) == "start"


async def test_spilled_bodies_race_without_leaking_or_sharing_objects(
    store: DynamoDBStore, alice: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = incompressible_text(700_000)
    thread_id, item = await _message(store, alice, big)
    assert len(s3_keys(store, alice, "spill")) == 1
    outcomes = race_item_writes(store, monkeypatch, readers=2)
    await asyncio.gather(
        *(store.update_item(thread_id, item.id, _appending(f" +{n}"), alice) for n in range(2))
    )
    assert outcomes == [True, False, True]
    stored = _text(await store.load_item(thread_id, item.id, alice))
    assert stored.startswith(big) and sorted(stored[len(big) :].split(" +")[1:]) == ["0", "1"]
    # One object left: the stored row's. The first one and the losing write's own were deleted.
    assert len(s3_keys(store, alice, "spill")) == 1
    # A plain save after that goes back to the item's fixed key and deletes the revision's object.
    await store.save_item(
        thread_id, _appending(" plain")(await store.load_item(thread_id, item.id, alice)), alice
    )
    assert len(s3_keys(store, alice, "spill")) == 1
    assert _text(await store.load_item(thread_id, item.id, alice)).endswith(" plain")

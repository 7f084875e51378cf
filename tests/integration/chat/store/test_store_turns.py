"""What the chat table keeps for turns: the history cut at a message, and the tool effect records."""

from __future__ import annotations

import time
from datetime import timedelta

from chatkit.types import UserMessageItem

from support.store import RequestLog, ids, partition_rows, thread
from support.store_samples import BASE, assistant_message, user_message
from task_assistant.chat.effects import EFFECT_TTL_DAYS, ToolEffectsTable, call_digest
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.keys import thread_pk
from task_assistant.chat.turns import open_turn
from task_assistant.context import RequestContext


async def test_items_before_a_message_are_one_query_and_stop_at_it(
    store: DynamoDBStore, alice: RequestContext, ddb_log: RequestLog
) -> None:
    await store.save_thread(thread("thr_cut"), alice)
    items = [
        user_message("thr_cut", f"msg_{n}", BASE + timedelta(seconds=n), f"q{n}") for n in range(0, 6, 2)
    ] + [assistant_message("thr_cut", f"msg_{n}", BASE + timedelta(seconds=n), f"a{n}") for n in (1, 3, 5)]
    for item in items:
        await store.add_thread_item("thr_cut", item, alice)
    mine = next(i for i in items if i.id == "msg_4")
    assert isinstance(mine, UserMessageItem)
    ddb_log.calls.clear()

    before = await store.load_items_before("thr_cut", mine, 10, alice)
    assert [i.id for i in before] == ["msg_3", "msg_2", "msg_1", "msg_0"]
    assert ddb_log.operations == ["Query"]
    # The same as chatkit's generic way (a cursor at the message), which costs a GetItem more.
    page = await store.load_thread_items("thr_cut", "msg_4", 10, "desc", alice)
    assert ids(page) == [i.id for i in before]
    assert [i.id for i in await store.load_items_before("thr_cut", mine, 2, alice)] == ["msg_3", "msg_2"]
    # Another user's view of the same thread id is empty.
    assert await store.load_items_before("thr_cut", mine, 10, RequestContext(user_id="mallory")) == []

    turn = await open_turn(store, thread("thr_cut"), mine, 3, alice)
    assert [i.id for i in turn.history] == ["msg_2", "msg_3", "msg_4"] and not turn.complete
    newest = turn.newest(2)
    assert newest is not None and ids(newest) == ["msg_4", "msg_3"]
    assert turn.newest(5) is None  # more than it read: the store must answer


async def test_effects_of_a_message_are_replayed_call_by_call(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    effects = ToolEffectsTable(store.dynamodb, store.table)
    await store.save_thread(thread("thr_fx"), alice)

    first = effects.for_message(alice, "thr_fx", "msg_1")
    one = await first.begin("add_task", {"title": "Buy  Milk", "notes": None})
    two = await first.begin("add_task", {"title": "buy milk"})  # the same call, made twice on purpose
    other = await first.begin("complete_task", {"task": "buy milk"})
    assert one.recorded is two.recorded is other.recorded is None
    await one.record({"task": {"n": 1}})
    await two.record({"task": {"n": 2}})
    await other.record({"task": {"n": 3}})

    retry = effects.for_message(alice.retrying("msg_1"), "thr_fx", "msg_1")
    assert (await retry.begin("add_task", {"title": " buy milk "})).recorded == {"task": {"n": 1}}
    assert (await retry.begin("add_task", {"title": "BUY MILK"})).recorded == {"task": {"n": 2}}
    assert (await retry.begin("add_task", {"title": "buy milk"})).recorded is None  # a third is new
    assert (await retry.begin("complete_task", {"task": "buy milk"})).recorded == {"task": {"n": 3}}
    assert (await retry.begin("delete_task", {"task": "buy milk"})).recorded is None

    # Another message, or another user's message of the same ids, has nothing recorded.
    other_message = effects.for_message(alice.retrying("msg_2"), "thr_fx", "msg_2")
    assert (await other_message.begin("add_task", {"title": "buy milk"})).recorded is None
    mallory = RequestContext(user_id="mallory").retrying("msg_1")
    assert (
        await effects.for_message(mallory, "thr_fx", "msg_1").begin("add_task", {"title": "buy milk"})
    ).recorded is None
    # A first answer (not a retry) reads nothing: its message is brand new.
    assert (
        await effects.for_message(alice, "thr_fx", "msg_1").begin("add_task", {"title": "buy milk"})
    ).recorded is None

    assert call_digest("add_task", {"title": "a"}) != call_digest("update_task", {"title": "a"})


async def test_effect_records_expire_stay_out_of_listings_and_go_with_the_thread(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    effects = ToolEffectsTable(store.dynamodb, store.table, item_ttl_days=7)
    await store.save_thread(thread("thr_fx2"), alice)
    await store.add_thread_item("thr_fx2", user_message("thr_fx2", "msg_1", BASE), alice)
    call = await effects.for_message(alice, "thr_fx2", "msg_1").begin("add_task", {"title": "x"})
    await call.record({"task": {"title": "x"}})

    pk = thread_pk(alice.user_id, "thr_fx2")
    [record] = [row for row in partition_rows(store, pk) if row["sk"]["S"].startswith("EFFECT#")]
    assert record["tool"]["S"] == "add_task"
    expires = int(record["expires_at"]["N"]) - time.time()
    assert 6 * 86400 < expires <= 7 * 86400 and EFFECT_TTL_DAYS > 7  # the shorter of the two TTLs
    assert ids(await store.load_thread_items("thr_fx2", None, 10, "asc", alice)) == ["msg_1"]

    await store.delete_thread("thr_fx2", alice)
    assert partition_rows(store, pk) == []

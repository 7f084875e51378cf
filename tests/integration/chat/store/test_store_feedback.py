"""Feedback rows: stored with the thread, replaced on change, paged, private, deleted with thread or item."""

from __future__ import annotations

from datetime import UTC, datetime

from support.store import RequestLog, partition_rows, seed, thread
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.feedback import FeedbackStore
from task_assistant.chat.store.keys import thread_pk
from task_assistant.context import RequestContext

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def feedback_of(store: DynamoDBStore) -> FeedbackStore:
    return FeedbackStore(store.rows, page_size_cap=store.settings.page_size_cap)


async def test_feedback_is_stored_and_read_back(store: DynamoDBStore, alice: RequestContext) -> None:
    await store.save_thread(thread("thr_f"), alice)
    items = await seed(store, alice, "thr_f", 3)
    feedback = feedback_of(store)
    saved = await feedback.save("thr_f", [items[0].id, items[2].id], "positive", alice, at=AT)
    assert [(r.item_id, r.kind, r.user_id, r.created_at) for r in saved] == [
        (items[0].id, "positive", alice.user_id, AT),
        (items[2].id, "positive", alice.user_id, AT),
    ]
    page = await feedback.load("thr_f", alice, limit=10)
    assert sorted(page.data, key=lambda r: r.item_id) == sorted(saved, key=lambda r: r.item_id)
    assert not page.has_more and page.after is None
    # Changing one's mind replaces the earlier judgement; the thread's items are untouched.
    await feedback.save("thr_f", [items[0].id], "negative", alice)
    kinds = {r.item_id: r.kind for r in (await feedback.load("thr_f", alice, limit=10)).data}
    assert kinds == {items[0].id: "negative", items[2].id: "positive"}
    listed = await store.load_thread_items("thr_f", None, 10, "asc", alice)
    assert [i.id for i in listed.data] == [i.id for i in items], "feedback rows are not thread items"


async def test_feedback_pages_are_bounded_and_exact(
    store: DynamoDBStore, alice: RequestContext, ddb_log: RequestLog
) -> None:
    await store.save_thread(thread("thr_p"), alice)
    items = await seed(store, alice, "thr_p", 7)
    feedback = feedback_of(store)
    await feedback.save("thr_p", [i.id for i in items], "positive", alice)
    ddb_log.clear()
    seen: list[str] = []
    after = None
    for _ in range(4):
        page = await feedback.load("thr_p", alice, limit=3, after=after)
        seen += [r.item_id for r in page.data]
        if not page.has_more:
            break
        assert page.after == page.data[-1].item_id
        after = page.after
    assert seen == sorted(i.id for i in items)
    assert ddb_log.operations == ["Query"] * 3, "one bounded Query per page"


async def test_another_user_sees_no_feedback(
    store: DynamoDBStore, alice: RequestContext, bob: RequestContext
) -> None:
    await store.save_thread(thread("thr_x"), alice)
    [item] = await seed(store, alice, "thr_x", 1)
    feedback = feedback_of(store)
    await feedback.save("thr_x", [item.id], "negative", alice)
    assert (await feedback.load("thr_x", bob, limit=10)).data == []
    assert len((await feedback.load("thr_x", alice, limit=10)).data) == 1


async def test_deleting_the_thread_or_the_item_deletes_its_feedback(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    await store.save_thread(thread("thr_d"), alice)
    items = await seed(store, alice, "thr_d", 2)
    feedback = feedback_of(store)
    await feedback.save("thr_d", [i.id for i in items], "positive", alice)
    await store.delete_thread_item("thr_d", items[0].id, alice)
    assert [r.item_id for r in (await feedback.load("thr_d", alice, limit=10)).data] == [items[1].id]
    await store.delete_thread("thr_d", alice)
    assert partition_rows(store, thread_pk(alice.user_id, "thr_d")) == []

"""The gate's ownership reads run together (one round trip) and still report problems in a fixed order."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from chatkit.types import InferenceOptions, ThreadMetadata, UserMessageItem, UserMessageTextContent

from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.web.chatkit_requests import References, load_owned
from task_assistant.web.errors import BadRequest, NotFound


async def _thread_with_items(store: DynamoDBStore, ctx: RequestContext, count: int) -> tuple[str, list[str]]:
    thread = ThreadMetadata(id="thr_gate", created_at=datetime(2026, 1, 1))
    await store.save_thread(thread, ctx)
    ids = []
    for n in range(count):
        item = UserMessageItem(
            id=f"msg_{n}",
            thread_id=thread.id,
            created_at=datetime(2026, 1, 1, 0, 0, n),
            content=[UserMessageTextContent(text=f"message {n}")],
            attachments=[],
            inference_options=InferenceOptions(),
        )
        await store.add_thread_item(thread.id, item, ctx)
        ids.append(item.id)
    return thread.id, ids


async def test_thread_and_item_reads_are_in_flight_together(settings: Settings) -> None:
    store = DynamoDBStore(settings)
    ctx = RequestContext(user_id="gate-reads")
    thread_id, item_ids = await _thread_with_items(store, ctx, 2)
    # Each GetItem waits (bounded) until all three are being sent: only concurrent reads get through.
    together = threading.Barrier(3, timeout=10)
    met: list[bool] = []

    def hold(**_: Any) -> None:
        try:
            together.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)

    store.dynamodb.meta.events.register("before-send.dynamodb.GetItem", hold)
    owned = await load_owned(
        References(thread_id=thread_id, item_ids=tuple(item_ids)), store, ctx, max_ids=10
    )
    assert met == [True, True, True]
    assert owned.thread is not None and owned.thread.id == thread_id
    assert list(owned.items) == item_ids and [i.id for i in owned.items.values()] == item_ids


@pytest.mark.parametrize(
    ("refs", "error", "needle"),
    [
        # The thread first, even when the attachments or items are wrong too.
        (References(thread_id="thr_missing", attachment_ids=("a",) * 3), NotFound, "thread"),
        (References(thread_id="thr_missing", item_ids=("msg_nope",)), NotFound, "thread"),
        # Too many attachments before a missing one; attachments before items.
        (References(thread_id="thr_gate", attachment_ids=("atc_nope",) * 3), BadRequest, "attachments"),
        (References(thread_id="thr_gate", attachment_ids=("atc_no",), item_ids=("x",) * 3), NotFound, "atc"),
        (References(thread_id="thr_gate", item_ids=("msg_0", "msg_nope")), NotFound, "msg_nope"),
        (References(thread_id="thr_gate", item_ids=("msg_0",) * 3), BadRequest, "item ids"),
    ],
)
async def test_problems_are_reported_in_order(
    settings: Settings, refs: References, error: type[Exception], needle: str
) -> None:
    store = DynamoDBStore(settings)
    ctx = RequestContext(user_id="gate-order")
    await _thread_with_items(store, ctx, 1)
    with pytest.raises(error, match=needle):
        await load_owned(refs, store, ctx, max_ids=2)

"""A turn's view of its thread: which request is a retry, where its items go, what its agent reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ProgressUpdateEvent,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    UserMessageItem,
    UserMessageTextContent,
)

from task_assistant.chat.turns import PLACEMENT_STEP, Turn, retried_item_id

AT = datetime(2026, 5, 1, 12, 0, 0, 500)


def _user(item_id: str, at: datetime = AT) -> UserMessageItem:
    return UserMessageItem(
        id=item_id,
        thread_id="thr_1",
        created_at=at,
        content=[UserMessageTextContent(text="hi")],
        attachments=[],
        inference_options=InferenceOptions(),
    )


def _assistant(item_id: str, at: datetime) -> AssistantMessageItem:
    return AssistantMessageItem(
        id=item_id, thread_id="thr_1", created_at=at, content=[AssistantMessageContent(text="ok")]
    )


def test_only_a_retry_request_names_a_retried_item() -> None:
    retry = {"type": "threads.retry_after_item", "params": {"thread_id": "thr_1", "item_id": "msg_1"}}
    assert retried_item_id(json.dumps(retry)) == "msg_1"
    assert retried_item_id(json.dumps(retry).encode()) == "msg_1"
    # A type spelled with JSON escapes is still read (chatkit reads it so), not skipped by the fast path.
    escaped = json.dumps(retry).replace("retry_after_item", "retry\\u005fafter_item")
    assert retried_item_id(escaped) == "msg_1"
    message = {
        "type": "threads.add_user_message",
        "params": {
            "thread_id": "thr_1",
            "input": {"content": [{"type": "input_text", "text": retry["type"]}]},
        },
    }
    for body in (json.dumps(message), "", "{", "[]", '{"type": "threads.retry_after_item"}', "[" * 10_000):
        assert retried_item_id(body) is None, body[:40]


def test_a_turns_items_are_placed_right_after_its_message_in_the_order_first_seen() -> None:
    turn = Turn("thr_1", _user("msg_q"), [_user("msg_q")], complete=True)
    later = AT + timedelta(seconds=3)
    added = turn.place(ThreadItemAddedEvent(item=_assistant("msg_a", later)))
    widget = turn.place(ThreadItemDoneEvent(item=_assistant("msg_w", later)))
    done = turn.place(ThreadItemDoneEvent(item=_assistant("msg_a", later + timedelta(seconds=1))))
    assert isinstance(added, ThreadItemAddedEvent) and isinstance(done, ThreadItemDoneEvent)
    assert isinstance(widget, ThreadItemDoneEvent)
    assert added.item.created_at == done.item.created_at == AT + PLACEMENT_STEP
    assert widget.item.created_at == AT + 2 * PLACEMENT_STEP
    # The item of another thread, a replacement of an item this turn did not add, any other event: as is.
    foreign = _assistant("msg_x", later).model_copy(update={"thread_id": "thr_2"})
    assert turn.place(ThreadItemDoneEvent(item=foreign)).item.created_at == later  # type: ignore[union-attr]
    replaced = turn.place(ThreadItemReplacedEvent(item=_assistant("msg_old", later)))
    assert replaced.item.created_at == later  # type: ignore[union-attr]
    progress = ProgressUpdateEvent(text="Adding\u2026")
    assert turn.place(progress) is progress
    # A turn without a message of its own places nothing.
    assert Turn("thr_1", None, [], complete=True).placed(_assistant("msg_a", later)).created_at == later


def test_the_agent_reads_the_newest_items_of_the_turn_not_of_the_thread() -> None:
    earlier = _assistant("msg_0", AT - timedelta(seconds=1))
    history: list[ThreadItem] = [earlier, _user("msg_q")]
    turn = Turn("thr_1", _user("msg_q"), history, complete=True)
    page = turn.newest(2)
    assert page is not None and [i.id for i in page.data] == ["msg_q", "msg_0"] and not page.has_more
    cut = Turn("thr_1", _user("msg_q"), history, complete=False)
    one = cut.newest(1)
    assert one is not None and one.has_more and one.after == "msg_q"
    assert cut.newest(3) is None  # it did not read that far back

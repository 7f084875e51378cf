"""The request context, and the thread and newest items it may carry to the store's next read of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from chatkit.types import (
    InferenceOptions,
    Page,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from task_assistant.context import RequestContext


def test_user_id_must_be_a_key_component() -> None:
    for bad in ("", "a#b"):
        with pytest.raises(ValueError, match="user_id"):
            RequestContext(user_id=bad)


def test_preloaded_thread_is_taken_once_for_its_id_and_user() -> None:
    thread = ThreadMetadata(id="thr_1", created_at=datetime(2026, 1, 1))
    plain = RequestContext(user_id="alice", request_id="r")
    carrying = plain.with_preloaded_thread(thread)
    assert plain.preloaded_thread is None
    assert carrying == plain  # the carried thread is no part of who the caller is
    preloaded = carrying.preloaded_thread
    assert preloaded is not None
    assert preloaded.take("thr_2", "alice") is None
    assert preloaded.take("thr_1", "bob") is None
    assert preloaded.take("thr_1", "alice") is thread
    assert preloaded.take("thr_1", "alice") is None
    # Copies of the context share the one thread: taking it through any of them uses it up.
    again = RequestContext(user_id="alice").with_preloaded_thread(thread)
    copy = replace(again, request_id="other")
    assert copy.preloaded_thread is again.preloaded_thread


def _items(count: int) -> list[UserMessageItem]:
    return [
        UserMessageItem(
            id=f"msg_{n}",
            thread_id="thr_1",
            created_at=datetime(2026, 1, 1, 0, 0, n),
            content=[UserMessageTextContent(text=f"message {n}")],
            attachments=[],
            inference_options=InferenceOptions(),
        )
        for n in reversed(range(count))  # newest first, as read
    ]


def test_recent_items_answer_one_newest_first_read_of_their_thread() -> None:
    newest = _items(5)
    page: Page[ThreadItem] = Page(data=list(newest), has_more=True, after="msg_0")
    ctx = RequestContext(user_id="alice").with_recent_items("thr_1", page)
    recent = ctx.recent_items
    assert recent is not None
    # Reads the page cannot answer: another thread or user, a cursor, oldest first, more than was read.
    assert recent.take("thr_2", "alice", after=None, limit=2, order="desc") is None
    assert recent.take("thr_1", "bob", after=None, limit=2, order="desc") is None
    assert recent.take("thr_1", "alice", after="msg_4", limit=2, order="desc") is None
    assert recent.take("thr_1", "alice", after=None, limit=2, order="asc") is None
    assert recent.take("thr_1", "alice", after=None, limit=6, order="desc") is None
    two = recent.take("thr_1", "alice", after=None, limit=2, order="desc")
    assert two is not None
    assert [i.id for i in two.data] == ["msg_4", "msg_3"] and two.has_more and two.after == "msg_3"
    assert two.data[0] == newest[0] and two.data[0] is not newest[0]  # copies
    assert recent.take("thr_1", "alice", after=None, limit=2, order="desc") is None  # taken once


def test_recent_items_that_were_the_whole_thread_answer_any_limit() -> None:
    page: Page[ThreadItem] = Page(data=list(_items(3)), has_more=False, after=None)
    recent = RequestContext(user_id="alice").with_recent_items("thr_1", page).recent_items
    assert recent is not None
    everything = recent.take("thr_1", "alice", after=None, limit=20, order="desc")
    assert everything is not None
    assert [i.id for i in everything.data] == ["msg_2", "msg_1", "msg_0"] and not everything.has_more
    assert everything.after is None

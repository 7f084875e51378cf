"""The request context and the thread it may carry from the HTTP gate to the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from chatkit.types import ThreadMetadata

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

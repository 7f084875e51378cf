"""The SnapStart warm-up turn runs the real agent, task tools and ChatKit conversion without any storage."""

from __future__ import annotations

import pytest

from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.warmup import IdsOnlyStore, warm_up_turn
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

#: Nothing listens on port 9: any DynamoDB or S3 call would fail the turn.
NOWHERE = "http://127.0.0.1:9"


async def test_the_warm_up_turn_answers_with_no_storage_reachable() -> None:
    server = build_chatkit_server(Settings(dynamodb_endpoint_url=NOWHERE, s3_endpoint_url=NOWHERE))
    events = await warm_up_turn(server)
    assert events >= 2  # at least the assistant message being added and done
    assert await warm_up_turn(server) == events  # repeatable: nothing was stored in between


async def test_the_warm_up_store_only_makes_ids_and_reports_an_empty_thread() -> None:
    store = IdsOnlyStore()
    context = RequestContext(user_id="u")
    assert store.generate_thread_id(context).startswith("thr_")
    page = await store.load_thread_items("thr_x", None, 2, "desc", context)
    assert page.data == [] and page.has_more is False
    with pytest.raises(RuntimeError, match="must not use the store"):
        store.add_thread_item  # noqa: B018 - the attribute lookup itself must fail

"""What each ChatKit request names (the ownership table) and which item kinds it needs."""

from __future__ import annotations

from typing import Any, get_args

from chatkit.types import ChatKitReq, NonStreamingReq, StreamingReq

from task_assistant.web.chatkit_requests import (
    EXPECTED_ITEM,
    REFERENCES,
    REQUEST_ADAPTER,
    References,
    references,
)


def parsed(kind: str, params: dict[str, Any]) -> Any:
    return REQUEST_ADAPTER.validate_python({"type": kind, "params": params})


MESSAGE = {"content": [], "attachments": ["atc_1", "atc_2"], "quoted_text": "", "inference_options": {}}
ACTION = {"type": "x", "payload": {}}


def test_every_request_model_has_an_entry() -> None:
    models = set(get_args(StreamingReq)) | set(get_args(NonStreamingReq))
    union, *_ = get_args(ChatKitReq)  # Annotated[StreamingReq | NonStreamingReq, discriminator]
    assert set(get_args(union)) == models
    assert set(REFERENCES) == models
    assert set(EXPECTED_ITEM) <= models


def test_what_each_request_names() -> None:
    assert references(parsed("threads.create", {"input": MESSAGE})) == References(
        attachment_ids=("atc_1", "atc_2")
    )
    assert references(
        parsed("threads.add_user_message", {"thread_id": "thr_1", "input": MESSAGE})
    ) == References(thread_id="thr_1", attachment_ids=("atc_1", "atc_2"))
    assert references(
        parsed("items.feedback", {"thread_id": "thr_1", "item_ids": ["a", "b"], "kind": "positive"})
    ) == References(thread_id="thr_1", item_ids=("a", "b"))
    assert references(
        parsed("threads.retry_after_item", {"thread_id": "thr_1", "item_id": "msg_1"})
    ) == References(thread_id="thr_1", item_ids=("msg_1",))
    # A custom action may name no widget: then only the thread.
    assert references(
        parsed("threads.custom_action", {"thread_id": "thr_1", "item_id": None, "action": ACTION})
    ) == References(thread_id="thr_1")
    assert references(parsed("attachments.delete", {"attachment_id": "atc_9"})) == References(
        attachment_ids=("atc_9",)
    )
    assert references(parsed("items.list", {"thread_id": "thr_1"})) == References(thread_id="thr_1")
    assert references(parsed("threads.list", {})) == References()
    assert (
        references(parsed("attachments.create", {"name": "a.txt", "size": 1, "mime_type": "text/plain"}))
        == References()
    )


def test_unsupported_types_are_those_the_server_does_not_implement() -> None:
    from chatkit.server import ChatKitServer

    from task_assistant.chat.server import TaskChatKitServer
    from task_assistant.web.chatkit_requests import REQUEST_TYPES, SUPPORTED_TYPES, UNSUPPORTED_TYPES

    hooks = {
        "threads.sync_custom_action": "sync_action",
        "threads.custom_action": "action",
        "items.feedback": "add_feedback",
        "input.transcribe": "transcribe",
    }
    for kind, hook in hooks.items():
        implemented = getattr(TaskChatKitServer, hook) is not getattr(ChatKitServer, hook)
        assert implemented == (kind in SUPPORTED_TYPES), kind
    assert UNSUPPORTED_TYPES <= REQUEST_TYPES and SUPPORTED_TYPES == REQUEST_TYPES - UNSUPPORTED_TYPES


def test_the_model_a_new_message_asks_for() -> None:
    from task_assistant.web.chatkit_requests import requested_model

    chosen = {**MESSAGE, "inference_options": {"model": "gpt-4.1"}}
    assert requested_model(parsed("threads.create", {"input": chosen})) == "gpt-4.1"
    assert (
        requested_model(parsed("threads.add_user_message", {"thread_id": "t", "input": chosen})) == "gpt-4.1"
    )
    assert requested_model(parsed("threads.create", {"input": MESSAGE})) is None
    assert requested_model(parsed("threads.list", {})) is None

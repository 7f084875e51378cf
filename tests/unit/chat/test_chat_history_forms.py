"""Thread items -> model input for each API, and store ids for model-made items (no network, no table)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from agents.models.chatcmpl_converter import Converter
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ClientToolCallItem,
    InferenceOptions,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemRemovedEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTextContent,
)

from task_assistant.chat.converter import ModelApi, TaskThreadItemConverter
from task_assistant.chat.ids import ID_PATTERN
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.stream_ids import with_store_ids
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

CTX = RequestContext(user_id="alice")
NOW = datetime(2026, 1, 2, 3, 4, 5)
THREAD = ThreadMetadata(id="thr_1", created_at=NOW)


def user(text: str) -> UserMessageItem:
    return UserMessageItem(
        id=f"msg_u_{text[:4]}",
        thread_id="thr_1",
        created_at=NOW,
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(),
    )


def assistant(*texts: str, item_id: str = "msg_a") -> AssistantMessageItem:
    content = [AssistantMessageContent(text=t) for t in texts]
    return AssistantMessageItem(id=item_id, thread_id="thr_1", created_at=NOW, content=content)


def tool_call() -> ClientToolCallItem:
    return ClientToolCallItem(
        id="tc_1",
        thread_id="thr_1",
        created_at=NOW,
        name="get_location",
        arguments={"precise": True},
        call_id="call_1",
        status="completed",
        output={"city": "Lisbon"},
    )


HISTORY: list[ThreadItem] = [
    user("hi"),
    assistant("Hello!", item_id="msg_a1"),
    user("two parts please"),
    assistant("First part.", "Second part.", item_id="msg_a2"),
    assistant("", item_id="msg_a3"),
    tool_call(),
    user("thanks"),
]


async def convert(api: ModelApi) -> list[Any]:
    return list(await TaskThreadItemConverter(None, CTX, api=api).to_agent_input(HISTORY))


async def test_chat_completions_history_is_accepted_by_the_sdk_and_keeps_every_part() -> None:
    messages = Converter.items_to_messages(await convert("chat_completions"))
    assert [(m["role"], m.get("content")) for m in messages] == [
        ("user", [{"type": "text", "text": "hi"}]),
        ("assistant", "Hello!"),
        ("user", [{"type": "text", "text": "two parts please"}]),
        (
            "assistant",
            [{"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}],
        ),
        # The empty message is left out; the client tool call and its output follow as they were.
        ("assistant", None),
        ("tool", '{"city": "Lisbon"}'),
        ("user", [{"type": "text", "text": "thanks"}]),
    ]
    tool_calls: Any = messages[4].get("tool_calls")
    assert tool_calls[0]["function"] == {
        "name": "get_location",
        "arguments": '{"precise": true}',
    }


async def test_responses_history_keeps_chatkits_output_text_parts() -> None:
    items = await convert("responses")
    assistants = [i for i in items if i.get("role") == "assistant"]
    assert [[part["type"] for part in a["content"]] for a in assistants] == [
        ["output_text"],
        ["output_text", "output_text"],
    ]
    assert [part["text"] for part in assistants[1]["content"]] == ["First part.", "Second part."]


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_an_assistant_message_without_text_is_left_out(api: ModelApi) -> None:
    items = await TaskThreadItemConverter(None, CTX, api=api).to_agent_input([assistant("", "")])
    assert items == []


# --- store ids ---------------------------------------------------------------------------------------


async def _events(*events: ThreadStreamEvent) -> AsyncIterator[ThreadStreamEvent]:
    for event in events:
        yield event


def delta(item_id: str, text: str) -> ThreadItemUpdatedEvent:
    return ThreadItemUpdatedEvent(
        item_id=item_id, update=AssistantMessageContentPartTextDelta(content_index=0, delta=text)
    )


async def test_chat_completions_placeholder_ids_become_one_store_id_per_message() -> None:
    store = DynamoDBStore(Settings())
    fake = FAKE_RESPONSES_ID
    widget_update = delta("wf_kept", "x")
    events: list[ThreadStreamEvent] = [
        ThreadItemAddedEvent(item=assistant(item_id=fake)),
        delta(fake, "One"),
        ThreadItemDoneEvent(item=assistant("One", item_id=fake)),
        widget_update,
        ThreadItemAddedEvent(item=assistant(item_id=fake)),
        delta(fake, "Two"),
        ThreadItemDoneEvent(item=assistant("Two", item_id=fake)),
        ThreadItemDoneEvent(item=tool_call().model_copy(update={"id": fake})),
        ThreadItemRemovedEvent(item_id=fake),
    ]
    out = [e async for e in with_store_ids(_events(*events), store, THREAD, CTX)]
    first, second = out[0].item.id, out[4].item.id  # type: ignore[union-attr]
    assert first != second and all(ID_PATTERN.match(i) for i in (first, second))
    assert [out[1].item_id, out[2].item.id] == [first, first]  # type: ignore[union-attr]
    assert [out[5].item_id, out[6].item.id] == [second, second]  # type: ignore[union-attr]
    assert out[3] is widget_update, "items the server made keep their ids"
    assert out[7].item.id.startswith("tc_") and out[7].item.call_id == "call_1"  # type: ignore[union-attr]
    assert [e.item_id for e in out[8:]] == [first, second]  # type: ignore[union-attr]


async def test_responses_ids_are_replaced_too() -> None:
    store = DynamoDBStore(Settings())
    events: list[ThreadStreamEvent] = [
        ThreadItemAddedEvent(item=assistant(item_id="msg_provider")),
        delta("msg_provider", "Hi"),
        ThreadItemDoneEvent(item=assistant("Hi", item_id="msg_provider")),
    ]
    out = [e async for e in with_store_ids(_events(*events), store, THREAD, CTX)]
    ids = {out[0].item.id, out[1].item_id, out[2].item.id}  # type: ignore[union-attr]
    assert len(ids) == 1 and ID_PATTERN.match(ids.pop())

"""The offline model's decisions and its Responses API output, through the SDK's Model interface."""

from __future__ import annotations

import json
from typing import Any

from agents.model_settings import ModelSettings
from agents.models.interface import ModelTracing
from openai.types.responses import (
    EasyInputMessageParam,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
)

from support.offline_tools import TASK_TOOLS
from task_assistant.agent.listing import ListedTask, format_task_list
from task_assistant.agent.offline import HELP_TEXT, OfflineModel, with_offline_note

ID1, ID2, ID3 = "01JD0000000000000000000001", "01JD0000000000000000000002", "01JD0000000000000000000003"


TOOLS = TASK_TOOLS


def _user(text: str) -> EasyInputMessageParam:
    return {"role": "user", "type": "message", "content": [{"type": "input_text", "text": text}]}


async def _step(items: list[Any]) -> ResponseFunctionToolCall | ResponseOutputMessage:
    response = await OfflineModel().get_response(
        None,
        items,
        ModelSettings(),
        TOOLS,
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall | ResponseOutputMessage)
    return item


def _text(item: Any) -> str:
    assert isinstance(item, ResponseOutputMessage)
    return "".join(c.text for c in item.content)  # type: ignore[union-attr]  # refusals have no text


async def test_calls_the_tool_then_replies_from_its_result() -> None:
    call = await _step([_user("add buy milk")])
    assert isinstance(call, ResponseFunctionToolCall)
    assert (call.name, json.loads(call.arguments)) == ("add_task", {"title": "buy milk"})
    output = {
        "type": "function_call_output",
        "call_id": call.call_id,
        "output": json.dumps({"task": {"id": ID1, "title": "buy milk", "completed": False}}),
    }
    reply = await _step([_user("add buy milk"), call.model_dump(), output])
    # The first answer of a thread says, once, that this is the offline assistant.
    assert _text(reply) == with_offline_note("Added \u201cbuy milk\u201d to your list.")


async def test_ordinal_uses_the_latest_list_in_the_conversation() -> None:
    old = format_task_list([ListedTask(ID3, "old", False)])
    latest = format_task_list([ListedTask(ID1, "buy milk", False), ListedTask(ID2, "call mom", False)])
    history = [_user("show"), _user(old), _user("show again"), _user(latest), _user("delete the second one")]
    call = await _step(history)
    assert isinstance(call, ResponseFunctionToolCall)
    assert (call.name, json.loads(call.arguments)) == ("delete_task", {"task": ID2})
    out_of_range = await _step([*history[:-1], _user("delete the fifth one")])
    assert "has 2 tasks" in _text(out_of_range)


async def test_tool_error_text_becomes_an_apology() -> None:
    call = await _step([_user("complete walk dog")])
    assert isinstance(call, ResponseFunctionToolCall)
    output = {
        "type": "function_call_output",
        "call_id": call.call_id,
        "output": "No task found for 'walk dog'.",
    }
    reply = await _step([_user("complete walk dog"), call.model_dump(), output])
    assert _text(reply) == with_offline_note("Sorry, I couldn't do that: No task found for 'walk dog'.")


async def test_help_for_unknown_input() -> None:
    assert _text(await _step([_user("sing me a song")])) == with_offline_note(HELP_TEXT)


async def test_streams_several_deltas_and_a_complete_response() -> None:
    events = [
        e
        async for e in OfflineModel().stream_response(
            None,
            [_user("hello")],
            ModelSettings(),
            TOOLS,
            None,
            [],
            ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
    ]
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 3 and "".join(deltas) == with_offline_note(HELP_TEXT)
    assert isinstance(events[-1], ResponseCompletedEvent)
    completed = events[-1].response
    assert completed.status == "completed" and len(completed.output) == 1

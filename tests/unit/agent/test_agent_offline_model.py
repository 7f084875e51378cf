"""The offline model's understanding of everyday phrasings and its decisions, without any I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import FunctionTool, Tool
from agents.model_settings import ModelSettings
from agents.models.interface import ModelTracing
from openai.types.responses import (
    EasyInputMessageParam,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
)

from task_assistant.agent.listing import ListedTask, format_task_list, parse_task_list
from task_assistant.agent.offline_model import HELP_TEXT, Intent, OfflineModel, ordinal_of, parse_intent

ID1, ID2, ID3 = "01JD0000000000000000000001", "01JD0000000000000000000002", "01JD0000000000000000000003"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("add buy milk", Intent("add", title="buy milk")),
        ("Add buy milk to my list.", Intent("add", title="buy milk")),
        ("remind me to call mom", Intent("add", title="call mom")),
        ("I need to water the plants", Intent("add", title="water the plants")),
        ("please add a task to book the dentist", Intent("add", title="book the dentist")),
        ("new task: pay rent", Intent("add", title="pay rent")),
        ("add buy milk with note: 2 litres", Intent("add", title="buy milk", notes="2 litres")),
        ("add \u201cbuy milk\u201d", Intent("add", title="buy milk")),
        ("what's on my list", Intent("list")),
        ("What\u2019s on my list?", Intent("list")),
        ("show my tasks", Intent("list")),
        ("list completed tasks", Intent("list", status="completed")),
        ("what's left", Intent("list", status="pending")),
        ("show me my pending to-dos", Intent("list", status="pending")),
        ("my tasks", Intent("list")),
        ("mark buy milk as done", Intent("complete", ref="buy milk")),
        ("I finished call mom", Intent("complete", ref="call mom")),
        ("I've done the laundry", Intent("complete", ref="laundry")),
        ("buy milk is done", Intent("complete", ref="buy milk")),
        ("check off #2", Intent("complete", ref="#2")),
        ("complete the first one", Intent("complete", ref="first one")),
        ("reopen buy milk", Intent("reopen", ref="buy milk")),
        ("mark buy milk as not done", Intent("reopen", ref="buy milk")),
        ("uncheck the second one", Intent("reopen", ref="second one")),
        ("rename buy milk to buy oat milk", Intent("rename", ref="buy milk", title="buy oat milk")),
        ("change the 2nd one to call dad", Intent("rename", ref="2nd one", title="call dad")),
        ("add a note to buy milk: semi-skimmed", Intent("notes", ref="buy milk", notes="semi-skimmed")),
        ("note for pay rent: before the 5th", Intent("notes", ref="pay rent", notes="before the 5th")),
        ("delete the second one", Intent("delete", ref="second one")),
        ("remove call mom from my list", Intent("delete", ref="call mom")),
        ("get rid of the last one", Intent("delete", ref="last one")),
        (f"delete {ID1}", Intent("delete", ref=ID1)),
        ("hi", Intent("help")),
        ("what can you do?", Intent("help")),
        ("", Intent("help")),
    ],
)
def test_parse_intent(text: str, intent: Intent) -> None:
    assert parse_intent(text) == intent


@pytest.mark.parametrize(
    ("ref", "position"),
    [
        ("first one", 1),
        ("second one", 2),
        ("2nd", 2),
        ("#3", 3),
        ("number 4", 4),
        ("last one", -1),
        ("3", 3),
        ("buy milk", None),
        ("the second task", 2),
    ],
)
def test_ordinals(ref: str, position: int | None) -> None:
    assert ordinal_of(ref) == position


def test_task_list_text_round_trips() -> None:
    rows = [ListedTask(ID1, "buy milk", False), ListedTask(ID2, "call  mom\nlater", True)]
    text = format_task_list(rows)
    assert text.splitlines()[1:] == [f"1. [ ] buy milk (id: {ID1})", f"2. [x] call mom later (id: {ID2})"]
    assert parse_task_list(text) == [rows[0], ListedTask(ID2, "call mom later", True)]
    assert parse_task_list("just words") is None
    assert parse_task_list(format_task_list([])) == []


def _tool(name: str, props: dict[str, Any]) -> FunctionTool:
    async def invoke(_ctx: Any, _args: str) -> str:
        raise AssertionError("the model never runs tools itself")

    return FunctionTool(
        name=name,
        description=name,
        params_json_schema={"type": "object", "properties": props},
        on_invoke_tool=invoke,
    )


TOOLS: list[Tool] = [
    _tool("add_task", {"title": {}, "notes": {}}),
    _tool("list_tasks", {"status": {}, "limit": {"maximum": 100}}),
    _tool("complete_task", {"task": {}}),
    _tool("reopen_task", {"task": {}}),
    _tool("update_task", {"task": {}, "title": {}, "notes": {}}),
    _tool("delete_task", {"task": {}}),
]


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
    assert _text(reply) == "Added \u201cbuy milk\u201d to your list."


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
    assert _text(reply) == "Sorry, I couldn't do that: No task found for 'walk dog'."


async def test_help_for_unknown_input() -> None:
    assert _text(await _step([_user("sing me a song")])) == HELP_TEXT


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
    assert len(deltas) >= 3 and "".join(deltas) == HELP_TEXT
    assert isinstance(events[-1], ResponseCompletedEvent)
    completed = events[-1].response
    assert completed.status == "completed" and len(completed.output) == 1

"""Everyday phrasings through the offline model's Model interface, one turn at a time, with the tool
results a real run would feed back (built by the task service's own result and error types)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from agents.model_settings import ModelSettings
from agents.models.interface import ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from support.offline_tools import TASK_TOOLS
from task_assistant.agent.listing import ListedTask, TaggedTask, format_tagged_task, format_task_list
from task_assistant.agent.offline import OFFLINE_NOTE, OfflineModel
from task_assistant.tasks.models import AmbiguousTaskError, Task, short_id

ID1, ID2, ID3 = "01JD0000000000000000000X7K", "01JD0000000000000000000P9Q", "01JD0000000000000000000M3W"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


TOOLS = TASK_TOOLS


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "type": "message", "content": [{"type": "input_text", "text": text}]}


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "type": "message", "content": [{"type": "output_text", "text": text}]}


def _task(task_id: str, title: str, completed: bool = False) -> Task:
    return Task(id=task_id, title=title, completed=completed, created_at=NOW, updated_at=NOW, version=1)


def _result(
    call: ResponseFunctionToolCall, task: Task | None = None, error: str | None = None
) -> dict[str, Any]:
    """What the task tool returns: the task (as JSON, as the MCP tools do) or the error text."""
    if error is not None:
        output = error
    elif call.name == "delete_task":
        output = json.dumps({"deleted": task.model_dump(mode="json") if task else {}})
    else:
        output = json.dumps({"task": task.model_dump(mode="json") if task else {}})
    return {"type": "function_call_output", "call_id": call.call_id, "output": output}


def _listing(call: ResponseFunctionToolCall, *tasks: Task) -> dict[str, Any]:
    payload = {"status": "all", "tasks": [t.model_dump(mode="json") for t in tasks], "next_cursor": None}
    return {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(payload)}


async def _step(items: list[Any]) -> list[ResponseFunctionToolCall] | str:
    """The model's next output: its tool calls, or its reply text."""
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
    if isinstance(response.output[0], ResponseOutputMessage):
        [message] = response.output
        assert isinstance(message, ResponseOutputMessage)
        return "".join(getattr(c, "text", "") for c in message.content)
    calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    assert len(calls) == len(response.output)
    return calls


async def _calls(items: list[Any]) -> list[ResponseFunctionToolCall]:
    step = await _step(items)
    assert isinstance(step, list), step
    return step


async def _reply(items: list[Any]) -> str:
    step = await _step(items)
    assert isinstance(step, str), step
    return step


def _args(calls: list[ResponseFunctionToolCall]) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, json.loads(c.arguments)) for c in calls]


EARLIER = [_user("hi"), _assistant("Hello!")]
"""A thread that already had an answer (so replies carry no offline note)."""


async def test_several_new_tasks_in_one_message_are_one_batch_of_calls() -> None:
    said = [*EARLIER, _user("add three tasks: bread, eggs and jam")]
    calls = await _calls(said)
    assert _args(calls) == [("add_task", {"title": t}) for t in ("bread", "eggs", "jam")]
    results = [
        _result(c, _task(i, t))
        for c, i, t in zip(calls, (ID1, ID2, ID3), ("bread", "eggs", "jam"), strict=True)
    ]
    reply = await _reply([*said, *[c.model_dump() for c in calls], *results])
    assert reply == "Added 3 tasks to your list: \u201cbread\u201d, \u201ceggs\u201d and \u201cjam\u201d."


async def test_a_miscounted_list_is_added_whole_and_said_so() -> None:
    said = [*EARLIER, _user("add two tasks: a, b, c")]
    calls = await _calls(said)
    assert [a["title"] for _, a in _args(calls)] == ["a", "b", "c"]
    results = [_result(c, _task(i, t)) for c, i, t in zip(calls, (ID1, ID2, ID3), "abc", strict=True)]
    reply = await _reply([*said, *[c.model_dump() for c in calls], *results])
    assert "You said 2, and I found 3 tasks in your message." in reply


async def test_the_x_one_names_a_task_by_its_title() -> None:
    assert _args(await _calls([*EARLIER, _user("delete the milk one")])) == [
        ("delete_task", {"task": "milk"})
    ]
    assert _args(await _calls([*EARLIER, _user("complete the one called call mom")])) == [
        ("complete_task", {"task": "call mom"})
    ]


async def test_finished_everything_completes_every_pending_task() -> None:
    said = [*EARLIER, _user("I finished everything")]
    [listing] = await _calls(said)
    assert _args([listing]) == [("list_tasks", {"status": "pending", "limit": 100})]
    history = [*said, listing.model_dump(), _listing(listing, _task(ID1, "bread"), _task(ID2, "eggs"))]
    calls = await _calls(history)
    assert _args(calls) == [("complete_task", {"task": ID1}), ("complete_task", {"task": ID2})]
    done = [
        _result(c, _task(i, t, True)) for c, i, t in zip(calls, (ID1, ID2), ("bread", "eggs"), strict=True)
    ]
    reply = await _reply([*history, *[c.model_dump() for c in calls], *done])
    assert reply == "Marked 2 tasks as done: \u201cbread\u201d and \u201ceggs\u201d. Nice work!"
    nothing = await _reply([*said, listing.model_dump(), _listing(listing)])
    assert nothing == "You have no pending tasks, so there was nothing to mark as done."


async def test_delete_everything_asks_first_and_yes_deletes_what_was_shown() -> None:
    said = [*EARLIER, _user("delete everything")]
    [listing] = await _calls(said)
    assert _args([listing]) == [("list_tasks", {"status": "all", "limit": 100})]
    shown = [_task(ID1, "bread"), _task(ID2, "eggs", True)]
    question = await _reply([*said, listing.model_dump(), _listing(listing, *shown)])
    assert question.startswith("Deleting can't be undone") and "all 2 tasks" in question
    # Next turn: the thread as the converter writes it (the list widget, then the question), and "yes".
    widget = _user(format_task_list([ListedTask(t.id, t.title, t.completed) for t in shown]))
    thread = [*said, widget, _assistant(question)]
    assert _args(await _calls([*thread, _user("yes")])) == [
        ("delete_task", {"task": ID1}),
        ("delete_task", {"task": ID2}),
    ]
    assert await _reply([*thread, _user("no")]) == "Okay, I left your tasks as they are."
    # Without the question, "yes" deletes nothing.
    assert await _reply([*EARLIER, _user("yes")]) == "Okay. What would you like to do with your list?"


async def test_delete_all_completed_goes_ahead_without_asking() -> None:
    said = [*EARLIER, _user("delete all completed tasks")]
    [listing] = await _calls(said)
    assert _args([listing]) == [("list_tasks", {"status": "completed", "limit": 100})]
    calls = await _calls([*said, listing.model_dump(), _listing(listing, _task(ID2, "eggs", True))])
    assert _args(calls) == [("delete_task", {"task": ID2})]


async def test_positions_in_the_latest_list() -> None:
    shown = _user(
        format_task_list(
            [ListedTask(ID1, "a", False), ListedTask(ID2, "b", False), ListedTask(ID3, "c", True)]
        )
    )
    for said, task in [
        ("delete the second one", ID2),
        ("delete number two", ID2),
        ("delete the second to last one", ID2),
        ("reopen the done one", ID3),
        ("delete the last one", ID3),
    ]:
        [call] = await _calls([*EARLIER, shown, _user(said)])
        assert json.loads(call.arguments) == {"task": task}, said
    calls = await _calls([*EARLIER, shown, _user("complete the first and third ones")])
    assert _args(calls) == [("complete_task", {"task": ID1}), ("complete_task", {"task": ID3})]


async def test_equal_titles_are_asked_about_and_told_apart_by_position_or_short_id() -> None:
    twins = [_task(ID1, "buy milk"), _task(ID2, "buy milk", True)]
    said = [*EARLIER, _user("delete buy milk")]
    [call] = await _calls(said)
    ambiguous = AmbiguousTaskError("buy milk", twins).message  # the tool's own error text
    question = await _reply([*said, call.model_dump(), _result(call, error=ambiguous)])
    assert question.startswith("Which one do you mean? 2 tasks match \u201cbuy milk\u201d:")
    assert f"1. buy milk ({short_id(ID1)}, not done)" in question
    assert f"2. buy milk ({short_id(ID2)}, done)" in question
    assert "full title" not in question

    thread = [*said, _assistant(question)]
    for answer, task in [
        ("the second one", short_id(ID2)),
        ("the first one", short_id(ID1)),
        (short_id(ID2), short_id(ID2)),
        ("the done one", short_id(ID2)),
        ("delete the second one", short_id(ID2)),
    ]:
        [call] = await _calls([*thread, _user(answer)])
        assert (call.name, json.loads(call.arguments)) == ("delete_task", {"task": task}), answer


async def test_a_tagged_task_is_acted_on_by_its_id() -> None:
    tags = [TaggedTask(mention="buy milk", id=ID2, title="buy milk"), TaggedTask(mention="call mom")]
    context = _user(
        "# User-provided context for @-mentions\n" + "\n".join(format_tagged_task(t) for t in tags)
    )
    [call] = await _calls([*EARLIER, _user("mark @buy milk as done"), context])
    assert (call.name, json.loads(call.arguments)) == ("complete_task", {"task": ID2})
    # A tag that names no task of the user's is read as what it says.
    [call] = await _calls([*EARLIER, _user("delete @call mom"), context])
    assert json.loads(call.arguments) == {"task": "call mom"}


async def test_says_it_is_offline_once_per_thread() -> None:
    first = await _reply([_user("hello")])
    assert first.endswith(OFFLINE_NOTE)
    later = await _reply([_user("hello"), _assistant(first), _user("what can you do?")])
    assert OFFLINE_NOTE not in later and "offline" not in later

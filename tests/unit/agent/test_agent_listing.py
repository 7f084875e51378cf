"""The text conventions shared by the converter, the chat server and the offline model."""

from __future__ import annotations

import json

from task_assistant.agent.listing import ListedTask, format_task_list, listed_tasks_of, parse_task_list

ID1, ID2 = "01JD0000000000000000000001", "01JD0000000000000000000002"


def test_task_list_text_round_trips() -> None:
    rows = [ListedTask(ID1, "buy milk", False), ListedTask(ID2, "call  mom\nlater", True)]
    text = format_task_list(rows)
    assert text.splitlines()[1:] == [f"1. [ ] buy milk (id: {ID1})", f"2. [x] call mom later (id: {ID2})"]
    assert parse_task_list(text) == [rows[0], ListedTask(ID2, "call mom later", True)]
    assert parse_task_list("just words") is None
    assert parse_task_list(format_task_list([])) == []


def test_list_tool_output_to_rows() -> None:
    text = json.dumps(
        {"status": "all", "tasks": [{"id": ID1, "title": "a", "completed": True}], "next_cursor": None}
    )
    assert listed_tasks_of({"type": "text", "text": text}) == [ListedTask(ID1, "a", True)]
    assert listed_tasks_of(text) == [ListedTask(ID1, "a", True)]
    assert listed_tasks_of("No task found") is None

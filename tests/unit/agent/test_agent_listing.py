"""The text conventions shared by the converter, the chat server and the offline model."""

from __future__ import annotations

import json

from task_assistant.agent.listing import ListedTask, listed_tasks_of

ID1 = "01JD0000000000000000000001"


def test_list_tool_output_to_rows() -> None:
    text = json.dumps(
        {"status": "all", "tasks": [{"id": ID1, "title": "a", "completed": True}], "next_cursor": None}
    )
    assert listed_tasks_of({"type": "text", "text": text}) == [ListedTask(ID1, "a", True)]
    assert listed_tasks_of(text) == [ListedTask(ID1, "a", True)]
    assert listed_tasks_of("No task found") is None

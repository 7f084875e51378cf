"""Stand-ins for the task tools as the offline model sees them: names and argument schemas, never run."""

from __future__ import annotations

from typing import Any

from agents import FunctionTool, Tool


def schema_only_tool(name: str, props: dict[str, Any]) -> FunctionTool:
    """A tool with ``name`` and these argument properties; running it fails the test."""

    async def invoke(_ctx: Any, _args: str) -> str:
        raise AssertionError("the model never runs tools itself")

    return FunctionTool(
        name=name,
        description=name,
        params_json_schema={"type": "object", "properties": props},
        on_invoke_tool=invoke,
    )


TASK_TOOLS: list[Tool] = [
    schema_only_tool("add_task", {"title": {}, "notes": {}}),
    schema_only_tool("list_tasks", {"status": {}, "limit": {"maximum": 100}}),
    schema_only_tool("complete_task", {"task": {}}),
    schema_only_tool("reopen_task", {"task": {}}),
    schema_only_tool("update_task", {"task": {}, "title": {}, "notes": {}}),
    schema_only_tool("delete_task", {"task": {}}),
]

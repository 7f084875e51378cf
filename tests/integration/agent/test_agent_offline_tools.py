"""The offline model's tool calls fit the real task tools' schemas, as the agent lists them over MCP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import FunctionTool, RunContextWrapper
from agents.model_settings import ModelSettings
from agents.models.interface import ModelTracing
from openai.types.responses import EasyInputMessageParam, ResponseFunctionToolCall

from task_assistant.agent.agent import build_agent
from task_assistant.agent.listing import ListedTask, format_task_list
from task_assistant.agent.offline import OfflineModel
from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.tasks import mcp_tools
from task_assistant.tasks.mcp_bridge import open_task_tools
from task_assistant.tasks.service import TaskService

ID1 = "01JD0000000000000000000001"
LISTED = format_task_list([ListedTask(ID1, "buy milk", False)])


def _user(text: str) -> EasyInputMessageParam:
    return {"role": "user", "type": "message", "content": [{"type": "input_text", "text": text}]}


@pytest.mark.parametrize(
    ("history", "tool", "arguments"),
    [
        (["add buy milk with note: 2 litres"], "add_task", {"title": "buy milk", "notes": "2 litres"}),
        (["what's left"], "list_tasks", {"status": "pending", "limit": 50}),
        (["mark buy milk as done"], "complete_task", {"task": "buy milk"}),
        ([LISTED, "uncheck the first one"], "reopen_task", {"task": ID1}),
        (["rename buy milk to buy oat milk"], "update_task", {"task": "buy milk", "title": "buy oat milk"}),
        (
            ["add a note to buy milk: semi-skimmed"],
            "update_task",
            {"task": "buy milk", "notes": "semi-skimmed"},
        ),
        ([f"delete {ID1.lower()}"], "delete_task", {"task": ID1}),
        (["delete the second one"], "list_tasks", {"status": "all", "limit": 50}),
    ],
)
async def test_calls_match_the_task_tools_schemas(
    settings: Settings, history: list[str], tool: str, arguments: dict[str, Any]
) -> None:
    alice = RequestContext(user_id="alice", request_id="req-alice")
    async with open_task_tools(TaskService(settings), alice) as tasks_mcp:
        agent = build_agent(OfflineModel(), tasks_mcp)
        tools = await agent.get_all_tools(RunContextWrapper(context=None))
        response = await OfflineModel().get_response(
            None,
            [_user(text) for text in history],
            ModelSettings(),
            tools,
            None,
            [],
            ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
    [call] = response.output
    assert isinstance(call, ResponseFunctionToolCall)
    assert (call.name, json.loads(call.arguments)) == (tool, arguments)
    [schema] = [t.params_json_schema for t in tools if isinstance(t, FunctionTool) and t.name == tool]
    assert set(arguments) <= set(schema["properties"]), "an argument the tool does not take"
    assert set(schema.get("required", [])) <= set(arguments), "a required argument is missing"


async def test_the_argument_names_are_the_tools_own(settings: Settings) -> None:
    alice = RequestContext(user_id="alice", request_id="req-alice")
    async with open_task_tools(TaskService(settings), alice) as tasks_mcp:
        listed = {t.name: set(t.input_schema["properties"]) for t in await tasks_mcp.list_tools()}
    assert set(listed) == set(mcp_tools.TOOL_NAMES)
    for name in ("complete_task", "reopen_task", "update_task", "delete_task"):
        assert mcp_tools.TASK_ARG in listed[name], name
    assert {mcp_tools.TITLE_ARG, mcp_tools.NOTES_ARG} <= listed["add_task"]
    assert {mcp_tools.TITLE_ARG, mcp_tools.NOTES_ARG} <= listed["update_task"]
    assert {mcp_tools.STATUS_ARG, mcp_tools.LIMIT_ARG} <= listed["list_tasks"]

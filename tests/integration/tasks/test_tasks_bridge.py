"""The Agents SDK bridge: an ``agents.mcp.MCPServer`` reaching the task tools over in-memory MCP."""

from __future__ import annotations

import asyncio
import json

import pytest
from agents import Agent, FunctionTool, RunContextWrapper
from agents.mcp import MCPServer, MCPUtil
from mcp import MCPError
from mcp_types import TextContent, Tool

from task_assistant.context import RequestContext
from task_assistant.tasks.mcp_bridge import InProcessTaskTools, open_task_tools, tools_server_for
from task_assistant.tasks.mcp_server import TaskToolsServer
from task_assistant.tasks.mcp_tools import TOOL_NAMES
from task_assistant.tasks.service import TaskService


def text_of(output: object) -> str:
    """The text of a single-text tool output as the Agents SDK hands it to the model."""
    assert isinstance(output, dict) and output.get("type") == "text", output
    return str(output["text"])


async def test_bridge_lists_and_calls_tools_for_the_bound_user(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext
):
    async with open_task_tools(tools_server, alice) as tasks_mcp:
        assert isinstance(tasks_mcp, MCPServer)
        assert tasks_mcp.name == "tasks"
        assert {tool.name for tool in await tasks_mcp.list_tools()} == set(TOOL_NAMES)
        added = await tasks_mcp.call_tool("add_task", {"title": "Water plants"})
        listed = await tasks_mcp.call_tool("list_tasks", {"status": "pending"})
    assert not added.is_error
    task = added.structured_content["task"]
    [listed_text] = listed.content
    assert isinstance(listed_text, TextContent)
    assert json.loads(listed_text.text)["tasks"] == [task]
    assert (await service.get(alice, task["id"])).title == "Water plants"


async def test_bridge_accepts_a_service_and_reuses_one_tools_server(
    service: TaskService, alice: RequestContext
):
    assert tools_server_for(service) is tools_server_for(service)
    async with open_task_tools(service, alice) as tasks_mcp:
        result = await tasks_mcp.call_tool("add_task", {"title": "From a service"})
    assert not result.is_error
    assert [t.title for t in (await service.list(alice)).tasks] == ["From a service"]


async def test_tools_are_listed_over_mcp_once_per_process(
    tools_server: TaskToolsServer, alice: RequestContext, bob: RequestContext, monkeypatch: pytest.MonkeyPatch
):
    # Count tools/list requests where the server answers them, including any the client session sends
    # on its own (it does so before a call to learn output schemas, unless the bridge spares it).
    listings = 0
    real_list_tools = tools_server.mcp.list_tools

    async def counting_list_tools() -> list[Tool]:
        nonlocal listings
        listings += 1
        return await real_list_tools()

    monkeypatch.setattr(tools_server.mcp, "list_tools", counting_list_tools)
    for context in (alice, bob, alice):
        async with open_task_tools(tools_server, context) as tasks_mcp:
            tools = await tasks_mcp.list_tools()
            tools[0].name = "mutated"  # callers get copies: the cache must not change
            again = await tasks_mcp.list_tools()
            assert {tool.name for tool in again} == set(TOOL_NAMES)
            added = await tasks_mcp.call_tool("add_task", {"title": f"for {context.user_id}"})
            listed = await tasks_mcp.call_tool("list_tasks", {})
            assert not added.is_error and not listed.is_error
    assert listings == 1


async def test_agents_sdk_converts_and_invokes_the_tools(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext
):
    await service.add(alice, "Buy milk")
    await service.add(alice, "Buy bread")
    agent = Agent(name="assistant")
    run_context = RunContextWrapper(context=None)
    async with open_task_tools(tools_server, alice) as tasks_mcp:
        function_tools = await MCPUtil.get_all_function_tools(
            [tasks_mcp], convert_schemas_to_strict=True, run_context=run_context, agent=agent
        )
        by_name = {tool.name: tool for tool in function_tools}
        assert set(by_name) == set(TOOL_NAMES)
        assert all(isinstance(tool, FunctionTool) for tool in function_tools)
        mcp_tools = {tool.name: tool for tool in await tasks_mcp.list_tools()}

        ok = await MCPUtil.invoke_mcp_tool(
            tasks_mcp, mcp_tools["complete_task"], run_context, json.dumps({"task": "buy milk"})
        )
        ambiguous = await MCPUtil.invoke_mcp_tool(
            tasks_mcp, mcp_tools["delete_task"], run_context, json.dumps({"task": "buy"})
        )
    # The model receives the JSON result, and for a tool error the message listing the candidates.
    assert json.loads(text_of(ok))["task"]["completed"] is True
    assert "matches 2 tasks" in text_of(ambiguous) and "'Buy bread'" in text_of(ambiguous)
    assert len((await service.list(alice)).tasks) == 2


async def test_concurrent_bridges_for_two_users_stay_apart(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext, bob: RequestContext
):
    secret = await service.add(alice, "Alice only")
    both_open = asyncio.Barrier(2)

    async def turn(context: RequestContext, title: str, target: str) -> tuple[bool, list[str]]:
        async with open_task_tools(tools_server, context) as tasks_mcp:
            await both_open.wait()
            await tasks_mcp.call_tool("add_task", {"title": title})
            touched = await tasks_mcp.call_tool("delete_task", {"task": target})
            listed = await tasks_mcp.call_tool("list_tasks", {})
        return touched.is_error, [t["title"] for t in listed.structured_content["tasks"]]

    (alice_err, alice_titles), (bob_err, bob_titles) = await asyncio.gather(
        turn(alice, "Alice new", "Alice new"), turn(bob, "Bob new", secret.id)
    )
    assert alice_err is False and alice_titles == ["Alice only"]
    assert bob_err is True and bob_titles == ["Bob new"]
    assert await service.get(alice, secret.id) == secret


async def test_bridge_implements_the_rest_of_the_mcp_server_contract(
    tools_server: TaskToolsServer, alice: RequestContext
):
    bridge = InProcessTaskTools(tools_server, alice)
    with pytest.raises(RuntimeError, match="not connected"):
        await bridge.call_tool("list_tasks", {})
    await bridge.connect()
    try:
        with pytest.raises(RuntimeError, match="already connected"):
            await bridge.connect()
        assert (await bridge.list_prompts()).prompts == []
        with pytest.raises(MCPError):
            await bridge.get_prompt("no-such-prompt")
        await bridge.list_tools()
        assert {tool.name for tool in bridge.cached_tools or []} == set(TOOL_NAMES)
    finally:
        await bridge.cleanup()
    with pytest.raises(RuntimeError, match="not connected"):
        await bridge.list_prompts()

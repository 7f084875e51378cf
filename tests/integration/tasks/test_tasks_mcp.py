"""The task tools through a real MCP ClientSession over in-memory streams (JSON-RPC, the SDK's sessions)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import ClientSession
from mcp_types import CallToolResult, TextContent

from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.tasks.mcp_server import TaskToolsServer
from task_assistant.tasks.mcp_tools import INTERNAL_ERROR_MESSAGE, TOOL_NAMES
from task_assistant.tasks.service import TaskService


@asynccontextmanager
async def session_for(server: TaskToolsServer, context: RequestContext) -> AsyncIterator[ClientSession]:
    async with server.connect(context) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def payload(result: CallToolResult) -> dict[str, Any]:
    """The structured result, checked to equal the JSON text the model reads."""
    assert len(result.content) == 1
    assert isinstance(result.content[0], TextContent)
    text = result.content[0].text
    if result.is_error:
        assert result.structured_content["error"]["message"] == text
    else:
        assert json.loads(text) == result.structured_content
    return result.structured_content


async def test_list_tools_have_typed_schemas_and_no_user_argument(
    tools_server: TaskToolsServer, alice: RequestContext
):
    async with session_for(tools_server, alice) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == set(TOOL_NAMES)
    for tool in tools.values():
        assert tool.description and len(tool.description) > 20
        assert tool.output_schema is not None
        properties = tool.input_schema["properties"]
        assert not any("user" in name.lower() for name in properties), tool.name
        for prop in properties.values():
            assert prop.get("description"), tool.name
    assert tools["add_task"].input_schema["required"] == ["title"]
    assert tools["list_tasks"].input_schema["properties"]["status"]["enum"] == ["all", "pending", "completed"]
    assert "required" not in tools["list_tasks"].input_schema
    for name in ("complete_task", "reopen_task", "update_task", "delete_task"):
        assert tools[name].input_schema["required"] == ["task"]
    list_hints, delete_hints = tools["list_tasks"].annotations, tools["delete_task"].annotations
    assert list_hints is not None and list_hints.read_only_hint is True
    assert delete_hints is not None and delete_hints.destructive_hint is True


async def test_every_tool_end_to_end(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext
):
    async with session_for(tools_server, alice) as session:
        added = payload(await session.call_tool("add_task", {"title": " Buy milk ", "notes": "2 litres"}))
        task_id = added["task"]["id"]
        assert added["task"]["title"] == "Buy milk"
        await session.call_tool("add_task", {"title": "Call mom"})

        listed = payload(await session.call_tool("list_tasks", {}))
        assert [t["title"] for t in listed["tasks"]] == ["Call mom", "Buy milk"]
        assert listed["status"] == "all" and listed["next_cursor"] is None

        done = payload(await session.call_tool("complete_task", {"task": "buy milk"}))
        assert done["task"]["completed"] is True and done["task"]["id"] == task_id
        assert (await service.get(alice, task_id)).completed is True
        pending = payload(await session.call_tool("list_tasks", {"status": "pending"}))
        assert [t["title"] for t in pending["tasks"]] == ["Call mom"]

        reopened = payload(await session.call_tool("reopen_task", {"task": task_id}))
        assert reopened["task"]["completed"] is False

        renamed = payload(await session.call_tool("update_task", {"task": "call MOM", "title": "Call dad"}))
        assert renamed["task"]["title"] == "Call dad"
        notes = payload(await session.call_tool("update_task", {"task": "Call dad", "notes": "after 6pm"}))
        assert notes["task"]["notes"] == "after 6pm" and notes["task"]["title"] == "Call dad"

        deleted = payload(await session.call_tool("delete_task", {"task": task_id}))
        assert deleted["deleted"]["id"] == task_id

        first = payload(await session.call_tool("list_tasks", {"limit": 1}))
        assert [t["title"] for t in first["tasks"]] == ["Call dad"] and first["next_cursor"] is None

    assert [t.title for t in (await service.list(alice)).tasks] == ["Call dad"]


async def test_list_paging_through_the_tool(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext
):
    for i in range(3):
        await service.add(alice, f"task {i}")
    async with session_for(tools_server, alice) as session:
        first = payload(await session.call_tool("list_tasks", {"limit": 2}))
        second = payload(await session.call_tool("list_tasks", {"limit": 2, "cursor": first["next_cursor"]}))
    assert [t["title"] for t in first["tasks"] + second["tasks"]] == ["task 2", "task 1", "task 0"]
    assert second["next_cursor"] is None


async def test_ambiguous_title_is_a_tool_error_listing_candidates(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext
):
    milk = await service.add(alice, "Buy milk")
    bread = await service.add(alice, "Buy bread")
    async with session_for(tools_server, alice) as session:
        result = await session.call_tool("complete_task", {"task": "buy"})
    assert result.is_error
    error = payload(result)["error"]
    assert error["code"] == "ambiguous_task"
    assert {c["id"] for c in error["candidates"]} == {milk.id, bread.id}
    assert isinstance(result.content[0], TextContent)
    text = result.content[0].text
    assert "'Buy milk'" in text and "'Buy bread'" in text and milk.id in text and bread.id in text
    assert not any(t.completed for t in (await service.list(alice)).tasks)


async def test_tool_errors_name_the_problem(tools_server: TaskToolsServer, alice: RequestContext):
    async with session_for(tools_server, alice) as session:
        empty = payload(await session.call_tool("add_task", {"title": "   "}))["error"]
        missing = payload(await session.call_tool("delete_task", {"task": "nothing like this"}))["error"]
        no_change = payload(await session.call_tool("add_task", {"title": "Plan trip"}))
        unchanged = payload(await session.call_tool("update_task", {"task": "Plan trip"}))["error"]
        bad_limit = payload(await session.call_tool("list_tasks", {"limit": 500}))["error"]
    assert empty == {"code": "invalid_input", "field": "title", "message": "title: must not be empty"}
    assert missing["code"] == "not_found" and "nothing like this" in missing["message"]
    assert no_change["task"]["version"] == 1
    assert unchanged["field"] == "title" and "nothing to change" in unchanged["message"]
    assert bad_limit["field"] == "limit"


async def test_a_session_cannot_reach_another_users_tasks(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext, bob: RequestContext
):
    secret = await service.add(alice, "Alice's secret plan")
    async with session_for(tools_server, bob) as session:
        for name, args in [
            ("complete_task", {"task": secret.id}),
            ("update_task", {"task": secret.id, "title": "pwned"}),
            ("delete_task", {"task": secret.id}),
            ("reopen_task", {"task": "secret plan"}),
        ]:
            result = await session.call_tool(name, args)
            assert result.is_error, name
            assert payload(result)["error"]["code"] == "not_found", name
        # A made-up user argument is not part of the schema and changes nothing about who acts.
        injected = payload(await session.call_tool("add_task", {"title": "Bob's", "user_id": alice.user_id}))
        listed = payload(await session.call_tool("list_tasks", {"user_id": alice.user_id}))
    assert [t["title"] for t in listed["tasks"]] == ["Bob's"]
    assert injected["task"]["title"] == "Bob's"
    assert await service.get(alice, secret.id) == secret
    assert [t.id for t in (await service.list(alice)).tasks] == [secret.id]


async def test_one_server_serves_two_users_concurrently(
    tools_server: TaskToolsServer, service: TaskService, alice: RequestContext, bob: RequestContext
):
    # Both sessions are open at once and take turns, so each call happens while the other user's
    # connection is live on the same server object.
    turn = asyncio.Barrier(2)

    async def work(context: RequestContext, label: str) -> list[str]:
        async with session_for(tools_server, context) as session:
            for i in range(4):
                await turn.wait()
                payload(await session.call_tool("add_task", {"title": f"{label} {i}"}))
            await turn.wait()
            listed = payload(await session.call_tool("list_tasks", {}))
        return [t["title"] for t in listed["tasks"]]

    alice_titles, bob_titles = await asyncio.gather(work(alice, "alice"), work(bob, "bob"))
    assert alice_titles == ["alice 3", "alice 2", "alice 1", "alice 0"]
    assert bob_titles == ["bob 3", "bob 2", "bob 1", "bob 0"]
    assert [t.title for t in (await service.list(bob)).tasks] == bob_titles


async def test_a_connection_without_a_bound_user_is_refused(tools_server: TaskToolsServer):
    from mcp import Client

    # The SDK's own in-process client skips TaskToolsServer.connect, so no user is bound: it must fail.
    with pytest.raises(RuntimeError, match="no bound user"):
        async with Client(tools_server.mcp) as client:
            await client.call_tool("list_tasks", {})


async def test_unexpected_failures_are_logged_and_do_not_leak_details(
    settings: Settings, alice: RequestContext, caplog: pytest.LogCaptureFixture
):
    broken = TaskToolsServer(TaskService(settings.model_copy(update={"tasks_table_name": "no-such-table"})))
    async with session_for(broken, alice) as session:
        result = await session.call_tool("list_tasks", {})
    assert result.is_error
    error = payload(result)["error"]
    assert error == {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}
    # Logged once, naming the tool, the user and the request, with the exception for us (not the client).
    logged = [r for r in caplog.records if r.getMessage() == "Task tool failed"]
    assert len(logged) == 1
    record = logged[0]
    assert (record.tool, record.user_id, record.request_id) == ("list_tasks", alice.user_id, alice.request_id)  # type: ignore[attr-defined]  # `extra=` fields
    assert record.exc_info is not None and "ResourceNotFoundException" in repr(record.exc_info[1])

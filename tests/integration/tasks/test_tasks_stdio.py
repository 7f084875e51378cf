"""The standalone MCP server: the `task-assistant-mcp` console script as a subprocess over stdio."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.tasks.mcp_tools import INTERNAL_ERROR_MESSAGE
from task_assistant.tasks.service import TaskService

SCRIPT = Path(sys.executable).with_name("task-assistant-mcp")


def server_env(settings: Settings) -> dict[str, str]:
    """Only what the server needs: the embedded DynamoDB endpoint, the table and dummy credentials."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "DYNAMODB_ENDPOINT_URL": str(settings.dynamodb_endpoint_url),
        "TASKS_TABLE_NAME": settings.tasks_table_name,
        "AWS_REGION": settings.aws_region,
        "AWS_DEFAULT_REGION": settings.aws_region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


async def test_stdio_server_acts_for_the_user_on_its_command_line(
    settings: Settings, service: TaskService, alice: RequestContext, bob: RequestContext
):
    assert SCRIPT.exists(), "the console script declared in pyproject.toml is installed"
    await service.add(bob, "Bob's task")
    params = StdioServerParameters(
        command=str(SCRIPT), args=["--user", alice.user_id], env=server_env(settings)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        info = await session.initialize()
        assert info.server_info.name == "task-assistant-tasks"
        added = await session.call_tool("add_task", {"title": "Over stdio", "notes": "via a subprocess"})
        listed = await session.call_tool("list_tasks", {})
    assert not added.is_error and not listed.is_error
    assert [t["title"] for t in listed.structured_content["tasks"]] == ["Over stdio"]
    (stored,) = (await service.list(alice)).tasks
    assert stored.id == added.structured_content["task"]["id"]
    assert stored.notes == "via a subprocess"
    assert [t.title for t in (await service.list(bob)).tasks] == ["Bob's task"]


async def test_stdio_server_logs_a_fault_on_stderr_not_into_the_protocol(
    settings: Settings, alice: RequestContext
):
    # A missing table is our fault: logged (with a traceback) and reported as a generic tool error. The
    # log line must not reach stdout, which carries the MCP messages, so the session keeps working.
    env = {**server_env(settings), "TASKS_TABLE_NAME": "no-such-table"}
    params = StdioServerParameters(command=str(SCRIPT), args=["--user", alice.user_id], env=env)
    with tempfile.TemporaryFile("w+") as errors:
        async with (
            stdio_client(params, errlog=errors) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            failed = await session.call_tool("list_tasks", {})
            again = await session.call_tool("list_tasks", {})
        errors.seek(0)
        logged = errors.read()
    internal = {"error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}}
    assert failed.structured_content == internal and again.structured_content == internal
    assert "Task tool failed" in logged and "ResourceNotFoundException" in logged


def test_stdio_server_requires_a_valid_user(settings: Settings):
    missing = subprocess.run(
        [str(SCRIPT)], env=server_env(settings), capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode == 2
    assert "--user" in missing.stderr
    invalid = subprocess.run(
        [str(SCRIPT), "--user", "a#b"],
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert invalid.returncode == 2
    assert "--user: user_id must be non-empty and must not contain '#'" in invalid.stderr
    assert "Traceback" not in invalid.stderr

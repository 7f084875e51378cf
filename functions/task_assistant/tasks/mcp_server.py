"""The task tools as a real MCP server (``mcp`` SDK v2 ``MCPServer``, formerly FastMCP).

Tools: ``add_task``, ``list_tasks``, ``complete_task``, ``reopen_task``, ``update_task``, ``delete_task``.
Each acts through the one :class:`~task_assistant.tasks.service.TaskService`, so MCP clients, the agent and
the REST API see the same rules.

Who a tool acts for
-------------------
No tool has a user argument. The user is bound to the *MCP connection* when it is opened:
:meth:`TaskToolsServer.serve` sets a context variable in the task that serves that one connection, and the
server's lifespan (which the SDK enters once per connection, in that task, before any message is read)
turns it into the connection's lifespan state. Tool handlers read the user only from
``ctx.request_context.lifespan_context`` -- state that belongs to their connection -- so one server object,
built once per process, can serve many users' connections at the same time without mixing them, and a
model cannot name another user. A connection opened without a bound user fails at start (closed by
default, never "no user = everyone").

Results
-------
Successful calls return ``structured_content`` and the same JSON as text (``{"task": {...}}``,
``{"deleted": {...}}`` or ``{"status", "tasks", "next_cursor"}``); the agent layer can render a widget from
the list output. Task errors are tool errors (``is_error``) whose text is the service's clear message
(an ambiguous title lists the candidates with their ids) and whose structured content is
``{"error": {"code", "message", ...}}``. Unexpected failures (ours, such as DynamoDB being unreachable)
are logged with the tool, user and request id, and reach the client only as a generic ``internal_error``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from aws_lambda_powertools import Logger
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.memory import create_client_server_memory_streams
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from task_assistant.context import RequestContext
from task_assistant.settings import Settings, get_settings
from task_assistant.tasks.models import Task, TaskError, TaskFilter
from task_assistant.tasks.service import TaskService

SERVER_NAME = "task-assistant-tasks"
TOOL_NAMES = ("add_task", "list_tasks", "complete_task", "reopen_task", "update_task", "delete_task")

# The tools' argument names, for code that builds calls (the offline model). The tool functions below
# take parameters of these names; tests/integration/agent/test_agent_offline_tools.py checks the schemas.
TASK_ARG = "task"
"""Names an existing task by id or title (complete_task, reopen_task, update_task, delete_task)."""
TITLE_ARG = "title"
NOTES_ARG = "notes"
STATUS_ARG = "status"
LIMIT_ARG = "limit"

INSTRUCTIONS = (
    "Manage the current user's to-do list. Tasks are referred to by id or by title: pass the exact id from "
    "a listing when you have it, otherwise a title that names one task. If a tool reports that a title is "
    "ambiguous, ask the user which task they mean (the error lists the candidates) or use an id."
)

INTERNAL_ERROR_MESSAGE = (
    "The task service is not available right now; nothing was changed. Try again shortly."
)

logger = Logger(service="task-assistant", child=True)

# Set only inside the task that serves one connection (see the module docstring).
_connection_user: ContextVar[RequestContext | None] = ContextVar("task_tools_connection_user", default=None)


@dataclass(frozen=True)
class ToolSession:
    """Per-connection state: the verified caller every tool call on this connection acts for."""

    context: RequestContext


class TaskResult(BaseModel):
    """Output of add_task, complete_task, reopen_task and update_task."""

    task: Task


class DeletedResult(BaseModel):
    """Output of delete_task: the task as it was before deletion."""

    deleted: Task


class TaskListResult(BaseModel):
    """Output of list_tasks: one page, newest first."""

    status: TaskFilter
    tasks: list[Task]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null at the end."
    )


ToolContext = Context[ToolSession, Any]

TaskRef = Annotated[
    str,
    Field(
        description=(
            "The task: its id (from add_task or list_tasks), or its title. A title may be partial if it "
            "matches only one task; case does not matter."
        )
    ),
]


@asynccontextmanager
async def _connection_lifespan(_server: MCPServer[ToolSession]) -> AsyncIterator[ToolSession]:
    context = _connection_user.get()
    if context is None:
        raise RuntimeError(
            "task tools connection has no bound user: start it with TaskToolsServer.serve/connect/serve_stdio"
        )
    yield ToolSession(context=context)


def _ok(result: BaseModel) -> CallToolResult:
    data = result.model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
        structured_content=data,
    )


def _failed(error: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=error["message"])],
        structured_content={"error": error},
        is_error=True,
    )


async def _run_tool(
    name: str, ctx: ToolContext, act: Callable[[RequestContext], Awaitable[BaseModel]]
) -> CallToolResult:
    """Run one tool for the connection's user: a result, a task error, or a logged internal error."""
    user = ctx.request_context.lifespan_context.context
    try:
        return _ok(await act(user))
    except TaskError as exc:
        return _failed(exc.to_dict())
    except Exception:
        # Our fault (e.g. DynamoDB unavailable): logged with context, reported without details.
        logger.exception(
            "Task tool failed", extra={"tool": name, "user_id": user.user_id, "request_id": user.request_id}
        )
        return _failed({"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE})


class TaskToolsServer:
    """One MCP server for the task tools, built once per process, serving many connections and users."""

    def __init__(self, service: TaskService, *, name: str = SERVER_NAME) -> None:
        self.service = service
        # log_level=WARNING: MCPServer configures root logging once; keep it from raising verbosity.
        self.mcp: MCPServer[ToolSession] = MCPServer(
            name, instructions=INSTRUCTIONS, lifespan=_connection_lifespan, log_level="WARNING"
        )
        self._register_tools()

    # -- serving ----------------------------------------------------------------------------------

    async def serve(
        self, read_stream: Any, write_stream: Any, context: RequestContext, *, raise_exceptions: bool = False
    ) -> None:
        """Serve one MCP connection over the given streams, every tool call acting for ``context``.

        Returns when the client closes its side. Run it in its own task (as :meth:`connect` does): the
        binding is a context variable of the calling task, read once by the connection's lifespan.
        """
        token = _connection_user.set(context)
        try:
            lowlevel = self.mcp._lowlevel_server  # the SDK's own in-memory transport reaches it the same way
            await lowlevel.run(
                read_stream,
                write_stream,
                lowlevel.create_initialization_options(),
                raise_exceptions=raise_exceptions,
            )
        finally:
            _connection_user.reset(token)

    @asynccontextmanager
    async def connect(self, context: RequestContext) -> AsyncIterator[tuple[Any, Any]]:
        """An in-memory MCP connection bound to ``context``: yields the client's (read, write) streams.

        The server side runs as a task in the current event loop (no subprocess, no socket) and stops when
        the block exits. Pass the streams to ``mcp.ClientSession``, or hand ``connect(context)`` itself to
        ``mcp.Client`` as its transport (the Agents SDK bridge does that).
        """
        async with create_client_server_memory_streams() as (client_streams, server_streams):
            server_done = anyio.Event()

            async def run_server() -> None:
                try:
                    await self.serve(server_streams[0], server_streams[1], context)
                finally:
                    server_done.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(run_server)
                try:
                    yield client_streams
                finally:
                    # EOF lets the server finish on its own; cancel only if it does not within a moment.
                    await client_streams[1].aclose()
                    with anyio.move_on_after(2.0):
                        await server_done.wait()
                    tg.cancel_scope.cancel()

    async def serve_stdio(self, context: RequestContext) -> None:
        """Serve one connection over this process's stdin/stdout, acting for ``context``."""
        async with stdio_server() as (read_stream, write_stream):
            await self.serve(read_stream, write_stream, context)

    # -- tools ------------------------------------------------------------------------------------

    def _register_tools(self) -> None:
        service = self.service

        async def add_task(
            title: Annotated[str, Field(description="What to do, e.g. 'Buy milk' (1 to 500 characters).")],
            ctx: ToolContext,
            notes: Annotated[
                str | None, Field(description="Optional details (up to 5,000 characters).")
            ] = None,
        ) -> Annotated[CallToolResult, TaskResult]:
            """Add a task to the user's list. Returns the new task with its id."""

            async def act(user: RequestContext) -> BaseModel:
                return TaskResult(task=await service.add(user, title, notes))

            return await _run_tool("add_task", ctx, act)

        async def list_tasks(
            ctx: ToolContext,
            status: Annotated[
                Literal["all", "pending", "completed"],
                Field(description="Which tasks: 'pending' (not done), 'completed' (done) or 'all'."),
            ] = "all",
            limit: Annotated[int, Field(description="How many tasks per page, 1 to 100.")] = 20,
            cursor: Annotated[
                str | None, Field(description="next_cursor from the previous page, to continue a listing.")
            ] = None,
        ) -> Annotated[CallToolResult, TaskListResult]:
            """List the user's tasks, newest first, one page at a time (see next_cursor)."""

            async def act(user: RequestContext) -> BaseModel:
                page = await service.list(user, status, limit, cursor)
                return TaskListResult(status=status, tasks=page.tasks, next_cursor=page.next_cursor)

            return await _run_tool("list_tasks", ctx, act)

        async def complete_task(task: TaskRef, ctx: ToolContext) -> Annotated[CallToolResult, TaskResult]:
            """Mark a task as done. Completing a task that is already done changes nothing."""

            async def act(user: RequestContext) -> BaseModel:
                found = await service.resolve(user, task, prefer="pending")
                if found.completed:  # already done: nothing to write, as in the service
                    return TaskResult(task=found)
                return TaskResult(task=await service.complete(user, found.id, found.version))

            return await _run_tool("complete_task", ctx, act)

        async def reopen_task(task: TaskRef, ctx: ToolContext) -> Annotated[CallToolResult, TaskResult]:
            """Mark a done task as not done again."""

            async def act(user: RequestContext) -> BaseModel:
                found = await service.resolve(user, task, prefer="completed")
                if not found.completed:
                    return TaskResult(task=found)
                return TaskResult(task=await service.reopen(user, found.id, found.version))

            return await _run_tool("reopen_task", ctx, act)

        async def update_task(
            task: TaskRef,
            ctx: ToolContext,
            title: Annotated[
                str | None, Field(description="The new title (1 to 500 characters); omit to keep it.")
            ] = None,
            notes: Annotated[
                str | None,
                Field(description="New notes (up to 5,000 characters); '' clears them; omit to keep them."),
            ] = None,
        ) -> Annotated[CallToolResult, TaskResult]:
            """Rename a task and/or change its notes. Give at least one of title or notes."""

            async def act(user: RequestContext) -> BaseModel:
                found = await service.resolve(user, task)
                updated = await service.update(
                    user, found.id, title=title, notes=notes, expected_version=found.version
                )
                return TaskResult(task=updated)

            return await _run_tool("update_task", ctx, act)

        async def delete_task(task: TaskRef, ctx: ToolContext) -> Annotated[CallToolResult, DeletedResult]:
            """Delete a task permanently. Returns the deleted task."""

            async def act(user: RequestContext) -> BaseModel:
                found = await service.resolve(user, task)
                return DeletedResult(deleted=await service.delete(user, found.id, found.version))

            return await _run_tool("delete_task", ctx, act)

        changes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
        self.mcp.add_tool(add_task, title="Add task", annotations=changes)
        self.mcp.add_tool(
            list_tasks,
            title="List tasks",
            annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
        )
        idempotent = ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        )
        self.mcp.add_tool(complete_task, title="Complete task", annotations=idempotent)
        self.mcp.add_tool(reopen_task, title="Reopen task", annotations=idempotent)
        self.mcp.add_tool(update_task, title="Update task", annotations=changes)
        self.mcp.add_tool(
            delete_task,
            title="Delete task",
            annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False),
        )


def build_task_tools_server(settings: Settings, *, service: TaskService | None = None) -> TaskToolsServer:
    """The task tools server over ``settings``' tasks table (build once per process)."""
    return TaskToolsServer(service or TaskService(settings))


def main(argv: list[str] | None = None) -> None:
    """``task-assistant-mcp --user alice``: serve the task tools over stdio, acting for that user.

    Tables and endpoints come from the usual settings (``TASKS_TABLE_NAME``, ``DYNAMODB_ENDPOINT_URL``,
    ``AWS_REGION``...). Whoever starts this process chooses the user: it is meant for a local MCP client
    run by someone who already holds credentials for the table.
    """
    parser = argparse.ArgumentParser(
        prog="task-assistant-mcp",
        description="Serve the task assistant's task tools over MCP stdio, acting for one user.",
    )
    parser.add_argument("--user", required=True, help="The user id whose tasks the tools act on.")
    args = parser.parse_args(argv)
    try:
        context = RequestContext(user_id=args.user, request_id="mcp-stdio")
    except ValueError as exc:
        parser.error(f"--user: {exc}")
    server = build_task_tools_server(get_settings())
    anyio.run(server.serve_stdio, context)


if __name__ == "__main__":
    main()

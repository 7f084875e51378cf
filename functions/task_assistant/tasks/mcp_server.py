"""The task tools (:mod:`task_assistant.tasks.mcp_tools`) as a real MCP server (``mcp`` SDK v2 ``MCPServer``).

Who a tool acts for
-------------------
The user is bound to the *MCP connection* when it is opened: :meth:`TaskToolsServer.serve` sets a context
variable in the task that serves that one connection, and the server's lifespan (which the SDK enters once
per connection, in that task, before any message is read) turns it into the connection's
:class:`~task_assistant.tasks.mcp_tools.ToolSession`. Tools read the user only from that state, so one
server object, built once per process, can serve many users' connections at the same time without mixing
them. A connection opened without a bound user fails at start (closed by default, never "no user =
everyone").

Transports: :meth:`TaskToolsServer.connect` (in memory, in this event loop: the agent's), stdio
(:func:`main`, the ``task-assistant-mcp`` command).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.shared.memory import create_client_server_memory_streams

from task_assistant.context import RequestContext
from task_assistant.settings import Settings, get_settings
from task_assistant.tasks.mcp_tools import TASK_TOOLS, ToolSession
from task_assistant.tasks.service import TaskService

SERVER_NAME = "task-assistant-tasks"

INSTRUCTIONS = (
    "Manage the current user's to-do list. Tasks are referred to by id, short id ('#x7k2') or title: pass "
    "the exact id from a listing when you have it, otherwise a title that names one task. If a tool reports "
    "that a title is ambiguous, ask the user which task they mean (the error lists the candidates with "
    "their short ids) or use an id."
)

# Set only inside the task that serves one connection (see the module docstring).
_connection_user: ContextVar[RequestContext | None] = ContextVar("task_tools_connection_user", default=None)


class TaskToolsServer:
    """One MCP server for the task tools, built once per process, serving many connections and users."""

    def __init__(self, service: TaskService, *, name: str = SERVER_NAME) -> None:
        self.service = service
        # log_level=WARNING: MCPServer configures root logging once; keep it from raising verbosity.
        self.mcp: MCPServer[ToolSession] = MCPServer(
            name,
            instructions=INSTRUCTIONS,
            tools=list(TASK_TOOLS),
            lifespan=self._connection_lifespan,
            log_level="WARNING",
        )

    @asynccontextmanager
    async def _connection_lifespan(self, _server: MCPServer[ToolSession]) -> AsyncIterator[ToolSession]:
        caller = _connection_user.get()
        if caller is None:
            raise RuntimeError(
                "task tools connection has no bound user: "
                "start it with TaskToolsServer.serve/connect/serve_stdio"
            )
        yield ToolSession(caller=caller, tasks=self.service)

    async def serve(
        self, read_stream: Any, write_stream: Any, context: RequestContext, *, raise_exceptions: bool = False
    ) -> None:
        """Serve one MCP connection over the given streams, every tool call acting for ``context``.

        Returns when the client closes its side. Run it in its own task (as :meth:`connect` does): the
        binding is a context variable of the calling task, read once by the connection's lifespan.
        """
        token = _connection_user.set(context)
        try:
            # MCPServer has no public way to serve given streams; the SDK's own in-memory transport and
            # run_stdio_async reach its low-level server the same way (marked "make it public" there).
            lowlevel = self.mcp._lowlevel_server
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
        token = _connection_user.set(context)
        try:
            await self.mcp.run_stdio_async()
        finally:
            _connection_user.reset(token)


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

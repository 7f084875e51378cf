"""The task tools for an OpenAI Agents SDK agent, reached through the MCP protocol in this process.

:func:`open_task_tools` yields an ``agents.mcp.MCPServer`` whose ``mcp.Client`` talks MCP (JSON-RPC
messages, the SDK's client and server sessions) over anyio memory streams to the one
:class:`~task_assistant.tasks.mcp_server.TaskToolsServer` of the process. The server side of the
connection is a task in the same event loop, bound to the request's verified user: no subprocess, no
socket, nothing started per request beyond that in-memory session.

The Agents SDK turns the listed tools into function tools and hands each result's text to the model
(``use_structured_content=False``: the text is the same JSON as the structured content, and for a tool
error it is the message the model should read).

Tool listing: the Agents SDK lists an MCP server's tools on every run (every turn). The task tools never
change while the process lives, so the list is fetched over MCP once per process (per tools server) and
then served from memory. Tool calls always go through the session.

Output validation: ``ClientSession.call_tool`` re-validates every structured result against the tool's
output schema, and to learn the schemas it silently sends its own ``tools/list`` on a session's first
call, then compiles a JSON Schema validator (measured: ~6 ms per session plus ~1 ms per call for ten
tasks). In process that work is redundant -- the server side has already validated the same result
against the same pydantic model before sending it -- so the bridge sends ``tools/call`` with the session's
generic ``send_request``, which returns the typed result without that second check.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from agents.mcp import MCPServer
from mcp import Client
from mcp.types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    GetPromptResult,
    ListPromptsResult,
)

from task_assistant.context import RequestContext
from task_assistant.tasks.mcp_server import TaskToolsServer
from task_assistant.tasks.service import TaskService

if TYPE_CHECKING:
    from agents.agent import AgentBase
    from agents.run_context import RunContextWrapper
    from mcp.types import Tool as MCPTool

BRIDGE_NAME = "tasks"
DEFAULT_TIMEOUT_SECONDS = 30.0

# Process-wide caches, keyed weakly so a dropped server or service takes its entries with it.
_listed_tools: weakref.WeakKeyDictionary[TaskToolsServer, list[MCPTool]] = weakref.WeakKeyDictionary()
_servers_by_service: weakref.WeakKeyDictionary[TaskService, TaskToolsServer] = weakref.WeakKeyDictionary()


class InProcessTaskTools(MCPServer):
    """An Agents SDK MCP server connected in memory to a :class:`TaskToolsServer`, bound to one user."""

    def __init__(
        self,
        tools_server: TaskToolsServer,
        context: RequestContext,
        *,
        name: str = BRIDGE_NAME,
        client_session_timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(use_structured_content=False)
        self._tools_server = tools_server
        self._context = context
        self._name = name
        self._timeout = client_session_timeout_seconds
        self._client: Client | None = None
        self._connection: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    @property
    def name(self) -> str:
        return self._name

    @property
    def context(self) -> RequestContext:
        """The verified caller every tool call of this session acts for."""
        return self._context

    # -- connection ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the MCP session (handshake included); it stays open until :meth:`cleanup`.

        The session lives in a task of its own, as in the Agents SDK's own servers: its task group must be
        entered and left by one task, while callers (an async generator streaming the turn) yield between
        ``connect`` and ``cleanup``.
        """
        if self._connection is not None:
            raise RuntimeError(f"MCP server {self._name!r} is already connected")
        self._closing = asyncio.Event()
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        self._connection = asyncio.create_task(self._hold_session(ready))
        try:
            self._client = await ready
        except BaseException:
            self._connection.cancel()
            await asyncio.gather(self._connection, return_exceptions=True)
            self._connection = None
            raise

    async def _hold_session(self, ready: asyncio.Future[Client]) -> None:
        client = Client(
            self._tools_server.connect(self._context),
            mode="auto",
            cache=None,  # nothing to cache per session; the tool list is cached per process below
            read_timeout_seconds=self._timeout,
        )
        try:
            async with client:
                ready.set_result(client)
                await self._closing.wait()
        except BaseException as exc:
            if ready.done():
                raise
            ready.set_exception(exc)

    async def cleanup(self) -> None:
        """Close the session and stop the server side of the connection."""
        connection, self._connection, self._client = self._connection, None, None
        if connection is not None:
            self._closing.set()
            await connection

    def _session_client(self) -> Client:
        if self._client is None:
            raise RuntimeError(f"MCP server {self._name!r} is not connected: call connect() first")
        return self._client

    # -- MCP operations -----------------------------------------------------------------------------

    async def list_tools(
        self,
        run_context: RunContextWrapper[Any] | None = None,
        agent: AgentBase | None = None,
    ) -> list[MCPTool]:
        """The tools, listed over MCP the first time in this process and from memory afterwards."""
        listed = _listed_tools.get(self._tools_server)
        if listed is None:
            listed = (await self._session_client().list_tools()).tools
            _listed_tools[self._tools_server] = listed
        return [tool.model_copy(deep=True) for tool in listed]  # callers may change theirs

    @property
    def cached_tools(self) -> list[MCPTool] | None:
        listed = _listed_tools.get(self._tools_server)
        return None if listed is None else [tool.model_copy(deep=True) for tool in listed]

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        # send_request, not ClientSession.call_tool: see "Output validation" in the module docstring.
        request = CallToolRequest(
            params=CallToolRequestParams(name=tool_name, arguments=arguments, _meta=meta)
        )
        return await self._session_client().session.send_request(request, CallToolResult)

    async def list_prompts(self) -> ListPromptsResult:
        return await self._session_client().list_prompts()

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> GetPromptResult:
        return await self._session_client().get_prompt(name, arguments)


def tools_server_for(server_or_service: TaskToolsServer | TaskService) -> TaskToolsServer:
    """The tools server itself, or the one (built once, then reused) over the given service."""
    if isinstance(server_or_service, TaskToolsServer):
        return server_or_service
    server = _servers_by_service.get(server_or_service)
    if server is None:
        server = TaskToolsServer(server_or_service)
        _servers_by_service[server_or_service] = server
    return server


@asynccontextmanager
async def open_task_tools(
    server_or_service: TaskToolsServer | TaskService,
    context: RequestContext,
    *,
    name: str = BRIDGE_NAME,
    client_session_timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
) -> AsyncIterator[InProcessTaskTools]:
    """A connected Agents SDK ``MCPServer`` for ``context``'s user; the session closes on exit.

    >>> async with open_task_tools(tools_server, ctx) as tasks_mcp:
    ...     agent = Agent(name="assistant", mcp_servers=[tasks_mcp])
    """
    bridge = InProcessTaskTools(
        tools_server_for(server_or_service),
        context,
        name=name,
        client_session_timeout_seconds=client_session_timeout_seconds,
    )
    await bridge.connect()
    try:
        yield bridge
    finally:
        await bridge.cleanup()

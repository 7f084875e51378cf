"""The task tools for an OpenAI Agents SDK agent, reached through the MCP protocol in this process.

:func:`open_task_tools` yields an ``agents.mcp.MCPServer`` whose client session talks MCP (JSON-RPC
messages, the SDK's client and server sessions) over anyio memory streams to the one
:class:`~task_assistant.tasks.mcp_server.TaskToolsServer` of the process. The server side of the
connection is a task in the same event loop, bound to the request's verified user: no subprocess, no
socket, nothing started per request beyond that in-memory session.

Tool listing: the Agents SDK lists an MCP server's tools on every run (every turn). The task tools never
change while the process lives, so the list is fetched over MCP once per process (per tools server) and
then served from memory; each bridge also enables the SDK's own ``cache_tools_list``. Tool calls always
go through the session.

Output validation: the MCP client session re-validates every structured result against the tool's
output schema, and to learn the schemas it silently sends its own ``tools/list`` on a session's first
call, then compiles a JSON Schema validator (measured: ~6 ms per session plus ~1 ms per call for ten
tasks). In process that work is redundant -- the server side has already validated the same result
against the same pydantic model before sending it -- so the bridge tells its session the task tools
need no client-side check. Should the SDK's internals change, this degrades to the SDK default
(validation on), never to missing validation of anything from elsewhere: it names only our tools.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from agents.mcp.server import _MCPServerWithClientSession

from task_assistant.context import RequestContext
from task_assistant.tasks.mcp_server import TOOL_NAMES, TaskToolsServer
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


class InProcessTaskTools(_MCPServerWithClientSession):
    """An Agents SDK MCP server connected in memory to a :class:`TaskToolsServer`, bound to one user.

    Built on the SDK's client-session base class (the one its stdio/HTTP servers use), so retries,
    timeouts, error mapping and tool conversion are the SDK's; only the transport differs.
    """

    def __init__(
        self,
        tools_server: TaskToolsServer,
        context: RequestContext,
        *,
        name: str = BRIDGE_NAME,
        client_session_timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(
            cache_tools_list=True,
            client_session_timeout_seconds=client_session_timeout_seconds,
            # Results carry the same JSON as text; the text goes to the model, error text included.
            use_structured_content=False,
        )
        self._tools_server = tools_server
        self._context = context
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def context(self) -> RequestContext:
        """The verified caller every tool call of this session acts for."""
        return self._context

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        return self._tools_server.connect(self._context)

    async def connect(self) -> None:
        await super().connect()
        self._skip_redundant_output_validation()

    def _skip_redundant_output_validation(self) -> None:
        # See "Output validation" in the module docstring: known tools with no schema to check.
        known = getattr(self.session, "_tool_output_schemas", None)
        if isinstance(known, dict):
            known.update(dict.fromkeys(TOOL_NAMES))

    async def list_tools(
        self,
        run_context: RunContextWrapper[Any] | None = None,
        agent: AgentBase | None = None,
    ) -> list[MCPTool]:
        """The tools, listed over MCP the first time in this process and from memory afterwards."""
        cached = _listed_tools.get(self._tools_server)
        if cached is None:
            tools: list[MCPTool] = await super().list_tools(run_context, agent)
            _listed_tools[self._tools_server] = copy.deepcopy(tools)
            self._skip_redundant_output_validation()  # the listing just taught the session the schemas
            return tools
        return copy.deepcopy(cached)


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

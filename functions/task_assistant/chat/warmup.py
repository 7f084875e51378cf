"""One agent turn that touches no storage and no network: the code a first chat turn runs, run once.

Before a SnapStart snapshot (:mod:`task_assistant.web.snapstart`), importing the agent stack is not all a
first turn pays: the Agents SDK's run loop, ChatKit's event conversion and the task tools' MCP session
each build caches, validators and type checks on first use (about 20-50 ms here). This runs them once,
like :meth:`TaskChatKitServer.respond` does, with the offline model answering a greeting:

- the offline model calls no tool for a greeting, so the task table is never read or written, and no
  model provider is called;
- the in-memory MCP session still opens and lists the real task tools;
- ChatKit's conversion gets a store that makes ids and knows the thread is new (empty): a warm-up that
  tried to write thread items would fail (and be logged) rather than touch a table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents import RunConfig, Runner
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.store import StoreItemType
from chatkit.types import Page, ThreadItem, ThreadMetadata

from task_assistant.agent.agent import MAX_TURNS, build_agent
from task_assistant.agent.offline import OfflineModel
from task_assistant.chat.ids import new_id
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.context import RequestContext

WARMUP_USER = "snapstart-warmup"
WARMUP_MESSAGE = "hello"


class IdsOnlyStore:
    """What ChatKit's event conversion asks a store for during the warm-up: new ids, and the newest items
    of the (new, empty) thread, answered without any storage; anything else fails."""

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: RequestContext
    ) -> Page[ThreadItem]:
        return Page(data=[], has_more=False)

    def generate_thread_id(self, context: RequestContext) -> str:
        return new_id("thread")

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext
    ) -> str:
        return new_id(item_type)

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the warm-up turn must not use the store ({name})")


async def warm_up_turn(server: TaskChatKitServer) -> int:
    """Run one offline turn through the real agent, task tools and ChatKit conversion; the event count."""
    context = RequestContext(user_id=WARMUP_USER, request_id="snapstart-warmup")
    thread = ThreadMetadata(id=new_id("thread"), created_at=datetime.now(UTC))
    agent_context = AgentContext[RequestContext](
        thread=thread,
        store=IdsOnlyStore(),  # type: ignore[arg-type]  # the annotation skips validation; see the class
        request_context=context,
    )
    events = 0
    async with server.task_tools(context) as tools:
        result = Runner.run_streamed(
            build_agent(OfflineModel(), tools),
            [{"role": "user", "content": WARMUP_MESSAGE}],
            context=agent_context,
            max_turns=MAX_TURNS,
            run_config=RunConfig(tracing_disabled=True),
        )
        async for _event in stream_agent_response(agent_context, result):
            events += 1
    return events

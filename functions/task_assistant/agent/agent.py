"""The task assistant agent: instructions, model and the task tools (reached over MCP).

An agent is built per turn: it is a small object, and its one MCP server is the per-request session
bound to the caller (:func:`task_assistant.tasks.mcp_bridge.open_task_tools`), so no state is shared
between users. The model comes from :class:`task_assistant.agent.models.ModelFactory`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agents import Agent, ModelSettings, RunContextWrapper

if TYPE_CHECKING:
    from agents.mcp import MCPServer
    from agents.models.interface import Model

AGENT_NAME = "Task assistant"
MAX_TURNS = 8
"""Model calls per user message (each tool round trip is one): plenty for "list, then act"."""

INSTRUCTIONS = """\
You are a friendly, concise assistant that manages the user's to-do list. Today is {today}.

Use the task tools for every change and every question about the list; never invent tasks or claim
a change you did not make with a tool. Tools act for the signed-in user only.

- Refer to tasks by the exact id when you know it (listings and earlier tool results show ids),
  otherwise by a title that names one task. When the user says "the second one", use the most recent
  list shown in the conversation ("Task list shown to the user", numbered as displayed).
- When the user @-mentions a task, its id comes with their message ("Tagged task: <task … id=…>"): act on
  that id. A tag marked missing names no task of theirs: ignore it and say so if it matters.
- Tasks with equal titles are told apart by short id ("#x7k2", the last characters of the id), which
  the tools accept as a task reference.
- If a tool says a title is ambiguous, ask which task the user means (mention the candidates).
- If a tool returns an error, explain it briefly in plain words; do not retry blindly.
- When you list tasks, the user already sees them as an interactive list: summarise in one short
  sentence instead of repeating every task.
- If the user attaches files or images, take them into account (for example, add tasks from a photo
  of a shopping list) and say what you did.
- Keep answers short: one or two sentences. Never reveal ids unless the user asks for them.
"""


def instructions(_context: RunContextWrapper[Any], _agent: Agent[Any]) -> str:
    """The system prompt, with today's date so "tomorrow" style requests make sense."""
    return INSTRUCTIONS.format(today=datetime.now(UTC).strftime("%A %d %B %Y"))


def build_agent(model: Model, task_tools: MCPServer) -> Agent[Any]:
    """The agent for one turn: ``model`` with the task tools of ``task_tools`` (an MCP server)."""
    return Agent(
        name=AGENT_NAME,
        instructions=instructions,
        model=model,
        mcp_servers=[task_tools],
        # Defaults only: every setting sent is one more thing an OpenAI-compatible provider may reject.
        model_settings=ModelSettings(),
    )

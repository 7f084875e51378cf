"""Deciding the next step: call a task tool for the user's request, or reply once this turn's tools ran.

A reference to a task by position ("the second one") becomes that row's id in the latest list; with no
list in sight the planner lists the tasks first. Arguments carry the task tools' own argument names
(:mod:`task_assistant.tasks.mcp_server`); optional ones are sent only when the tool's schema has them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.tool import FunctionTool, Tool

from task_assistant.agent.listing import listed_tasks_of
from task_assistant.agent.offline.conversation import Conversation, ToolExchange
from task_assistant.agent.offline.intents import Intent, IntentKind, ordinal_of, parse_intent
from task_assistant.tasks.mcp_tools import (
    LIMIT_ARG,
    NOTES_ARG,
    STATUS_ARG,
    TASK_ARG,
    TITLE_ARG,
    TOOL_NAMES,
)
from task_assistant.tasks.models import looks_like_task_id

HELP_TEXT = (
    "I'm the offline assistant: I run without an AI model and understand simple requests about your "
    "tasks. Try: \u201cadd buy milk\u201d, \u201cremind me to call mom\u201d, \u201cwhat's on my list\u201d, "
    "\u201cmark buy milk as done\u201d, \u201crename buy milk to buy oat milk\u201d, "
    "\u201cadd a note to buy milk: semi-skimmed\u201d, \u201creopen buy milk\u201d or "
    "\u201cdelete the second one\u201d."
)

LIST_LIMIT_DEFAULT = 50
"""How many tasks one listing asks for when the tool's schema states no maximum."""


@dataclass(frozen=True)
class Call:
    """Call the tool ``name`` with ``arguments``."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """Answer the user with ``text`` (the turn ends)."""

    text: str


_TOOL_FOR: dict[IntentKind, str] = {
    "add": "add_task",
    "list": "list_tasks",
    "complete": "complete_task",
    "reopen": "reopen_task",
    "rename": "update_task",
    "notes": "update_task",
    "delete": "delete_task",
}


def _schema_props(tool: Tool | None) -> dict[str, Any]:
    if isinstance(tool, FunctionTool):
        return dict(tool.params_json_schema.get("properties", {}))
    return {}


def _call_arguments(intent: Intent, ref: str | None, tool: Tool | None) -> dict[str, Any]:
    """Arguments for the intent's tool, by the task tools' argument names."""
    props = _schema_props(tool)
    args: dict[str, Any] = {}
    if ref is not None:
        args[TASK_ARG] = ref
    if intent.kind == "add":
        args[TITLE_ARG] = intent.title
        if intent.notes:
            args[NOTES_ARG] = intent.notes
    elif intent.kind == "rename":
        args[TITLE_ARG] = intent.title
    elif intent.kind == "notes":
        args[NOTES_ARG] = intent.notes
    elif intent.kind == "list":
        if STATUS_ARG in props:
            args[STATUS_ARG] = intent.status
        if LIMIT_ARG in props:
            limit = props[LIMIT_ARG]
            maximum = limit.get("maximum") if isinstance(limit, dict) else None
            args[LIMIT_ARG] = int(maximum) if maximum is not None else LIST_LIMIT_DEFAULT
    # Drop optional nulls the schema may not accept.
    return {k: v for k, v in args.items() if v is not None}


def decide(conv: Conversation, tools: list[Tool]) -> Call | Reply:
    """The next step: a tool call for the user's request, or the reply once this turn's tools ran."""
    if conv.answered:
        # The request was answered in an earlier run; this run only continues after a client tool.
        names = sorted({e.name for e in conv.exchanges if e.name not in TOOL_NAMES})
        if names:
            return Reply(f"Thanks, I got the result of {', '.join(names)}.")
        return Reply("Is there anything else I can do for your list?")
    intent = parse_intent(conv.user_text)
    if intent.kind == "help":
        return Reply(_with_attachments(conv, HELP_TEXT if not conv.attachments else ""))
    tool_name = _TOOL_FOR[intent.kind]
    by_name = {t.name: t for t in tools}
    if tool_name not in by_name:
        return Reply(f"I can't do that here: the {tool_name} tool is not available.")
    ref: str | None = None
    if intent.ref is not None:
        resolved = _resolve_ref(intent.ref, conv, by_name)
        if not isinstance(resolved, str):
            return resolved
        ref = resolved
    if tool_name not in [e.name for e in conv.exchanges]:
        return Call(tool_name, _call_arguments(intent, ref, by_name[tool_name]))
    return Reply(_with_attachments(conv, _summarise(intent, conv)))


def _resolve_ref(ref: str, conv: Conversation, by_name: Mapping[str, Tool]) -> str | Call | Reply:
    """What to pass as the task: a title or id as given, or the id at a position in the latest list.

    A position with no list in sight first lists the tasks (a :class:`Call`); a position the list does
    not have is answered with a :class:`Reply`.
    """
    position = ordinal_of(ref)
    if position is None:
        return ref.upper() if looks_like_task_id(ref) else ref
    if conv.latest_list is None:
        # "the second one" with no list in sight: look at the list first, then act.
        if "list_tasks" not in [e.name for e in conv.exchanges] and "list_tasks" in by_name:
            return Call("list_tasks", _call_arguments(Intent("list"), None, by_name["list_tasks"]))
        return Reply("Which task do you mean? Ask me to show your tasks first, then refer to one by number.")
    rows = conv.latest_list
    index = len(rows) - 1 if position == -1 else position - 1
    if not 0 <= index < len(rows):
        return Reply(
            f"The last list I showed has {len(rows)} task{'s' if len(rows) != 1 else ''}, "
            f"so there is no task number {position}."
        )
    return rows[index].id


def _with_attachments(conv: Conversation, text: str) -> str:
    if not conv.attachments:
        return text
    names = ", ".join(conv.attachments)
    ack = f"I see you attached {names}. I can't read attachments offline, but they are saved with the chat."
    return f"{ack} {text}".strip()


def _json_or_none(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _task_of(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Mapping):
        for key in ("task", "deleted"):
            if isinstance(value.get(key), Mapping):
                return dict(value[key])
        if "title" in value:
            return dict(value)
    return None


def _error_of(exchange: ToolExchange) -> str | None:
    """The error text of a failed tool call, or None when it succeeded."""
    text = exchange.output or ""
    value = _json_or_none(text)
    if isinstance(value, Mapping):
        error = value.get("error")
        if isinstance(error, Mapping):
            return str(error.get("message", error))
        if isinstance(error, str):
            return error
        if value.get("isError") or value.get("is_error"):
            return str(value.get("message", text))
        return None
    if value is not None:
        return None
    # Plain text: MCP tool errors and the SDK's failure message arrive as text, successes as JSON.
    return text or "the tool returned nothing"


def _summarise(intent: Intent, conv: Conversation) -> str:
    exchange = next((e for e in reversed(conv.exchanges) if e.name == _TOOL_FOR[intent.kind]), None)
    if exchange is None:  # pragma: no cover - decide() only summarises after the call
        return "Done."
    error = _error_of(exchange)
    if error is not None:
        return f"Sorry, I couldn't do that: {error.strip()}"
    if intent.kind == "list":
        return _summarise_list(intent, exchange)
    task = _task_of(_json_or_none(exchange.output)) or {}
    if intent.kind == "delete" and not task:
        return "Deleted the task."
    title = str(task.get("title") or intent.title or intent.ref or "the task")
    return _DONE_REPLIES.get(intent.kind, "Done.").format(title=f"\u201c{title}\u201d")


#: What the model says after a successful change; ``{title}`` is the quoted task title.
_DONE_REPLIES: dict[str, str] = {
    "add": "Added {title} to your list.",
    "complete": "Marked {title} as done. Nice work!",
    "reopen": "Reopened {title}; it's back on your list.",
    "rename": "Renamed it to {title}.",
    "notes": "Saved the note on {title}.",
    "delete": "Deleted {title}.",
}


def _summarise_list(intent: Intent, exchange: ToolExchange) -> str:
    tasks = listed_tasks_of(exchange.output) or []
    which = {"all": "", "pending": "pending ", "completed": "completed "}[intent.status]
    if not tasks:
        return (
            f"You have no {which}tasks." if which else "Your list is empty. Add one with \u201cadd ...\u201d."
        )
    lines = [f"{n}. {t.title}{' (done)' if t.completed else ''}" for n, t in enumerate(tasks, start=1)]
    noun = "task" if len(tasks) == 1 else "tasks"
    return f"You have {len(tasks)} {which}{noun}:\n" + "\n".join(lines)

"""Reading the model input: the user's latest message, this turn's tool calls and the latest task list.

The input is what ChatKit's converter (ours, :mod:`task_assistant.chat.converter`, over chatkit's
``ThreadItemConverter``) made of the thread, followed by the items of this run (function calls and their
outputs). Several role-"user" messages in it were not typed by the user; :data:`NOT_TYPED_BY_USER` knows
them by how they open. Among them, the @-mention context carries the tasks the user tagged.

The "latest list" is whatever numbered list the user saw last: a task-list widget, this turn's
``list_tasks`` result, or the candidates of the model's own "which one do you mean?" question.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from agents.items import TResponseInputItem

from task_assistant.agent.listing import (
    ACTIVITY_HEADER,
    ATTACHMENT_NOTE_PREFIX,
    TASK_LIST_HEADER,
    ListedTask,
    TaggedTask,
    listed_tasks_of,
    parse_tagged_tasks,
    parse_task_list,
    tool_output_text,
)
from task_assistant.agent.offline.questions import candidates_asked

CHATKIT_CONTEXT_OPENINGS = (
    "The following graphical UI widget",
    "Hidden context for the agent",
    "The user is referring to this in particular",
    "# User-provided context",
    "A message was displayed to the user",
    "A structured input request",
)
"""How chatkit's ``ThreadItemConverter`` opens the messages it adds on the user's behalf (a widget other
than a task list, hidden context, quoted text, @-mention context, a task or workflow step, structured
input). chatkit writes these inline and exports no constant, so they are spelled here, once, and
``tests/unit/agent/offline/test_offline_conversation.py`` runs chatkit's converter to check them."""

NOT_TYPED_BY_USER = (TASK_LIST_HEADER, ACTIVITY_HEADER, *CHATKIT_CONTEXT_OPENINGS)
"""Openings of the role-"user" messages the user did not type: our task lists and tool activity lines,
and chatkit's context."""

_ATTACHMENT_NOTE = re.compile("^" + re.escape(ATTACHMENT_NOTE_PREFIX) + r"(.+) \(([^()]*)\)", re.MULTILINE)


@dataclass
class ToolExchange:
    """One tool call of this turn and, once it has run, its output as text."""

    name: str
    arguments: dict[str, Any]
    output: str | None = None


@dataclass
class Conversation:
    """The parts of the model input the offline model cares about."""

    user_text: str = ""
    attachments: list[str] = field(default_factory=list)
    exchanges: list[ToolExchange] = field(default_factory=list)
    """Tool calls made since the user's message (this turn), in order, with their outputs."""
    latest_list: list[ListedTask] | None = None
    """The most recent task list shown or returned, for ordinal references."""
    answered: bool = False
    """An assistant message already followed the user's message (e.g. a client tool result came back)."""
    tags: list[TaggedTask] = field(default_factory=list)
    """The tasks the user @-mentioned in their message, as the converter resolved them."""
    previous_reply: str | None = None
    """The assistant's answer to the user's previous message (it may have asked a question)."""
    previous_request: str | None = None
    """The user's previous message, the one ``previous_reply`` answered."""
    replied_before: bool = False
    """The assistant answered in this thread before (so it has already said that it is offline)."""


def as_dict(item: Any) -> dict[str, Any]:
    """An input item or content part as a dict (they arrive as dicts or as pydantic models)."""
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        return cast(dict[str, Any], dump(exclude_none=True))
    return {}


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    if isinstance(content, list):
        for part in content:
            part_dict = as_dict(part)
            if part_dict.get("type") in {"input_text", "output_text", "text"} and isinstance(
                part_dict.get("text"), str
            ):
                out.append(part_dict["text"])
    return out


def _attachment_names(content: Any) -> list[str]:
    names: list[str] = []
    for text in _texts(content):
        names += [m[1] for m in _ATTACHMENT_NOTE.finditer(text)]
    if isinstance(content, list):
        for part in content:
            part_dict = as_dict(part)
            if part_dict.get("type") == "input_file" and part_dict.get("filename"):
                name = str(part_dict["filename"])
                if name not in names:
                    names.append(name)
            elif part_dict.get("type") == "input_image" and not names:
                names.append("an image")
    return names


@dataclass
class _Reading:
    """What :func:`read_conversation` keeps between items."""

    reply: str | None = None
    """The assistant's text since the last typed message."""
    replied: bool = False


def _read_user_message(conv: Conversation, reading: _Reading, item: dict[str, Any]) -> bool:
    """Note a task list or tags the message shows; True when the user typed it (it starts a new turn)."""
    texts = _texts(item.get("content"))
    joined = "\n".join(texts)
    shown = parse_task_list(joined)
    if shown is not None:
        conv.latest_list = shown
    if texts and any(joined.startswith(opening) for opening in NOT_TYPED_BY_USER):
        conv.tags += parse_tagged_tasks(joined)
        return False
    typed = [t for t in texts if not t.startswith(ATTACHMENT_NOTE_PREFIX)]
    conv.previous_request, conv.previous_reply = (
        (conv.user_text, reading.reply) if reading.reply else (None, None)
    )
    conv.replied_before = reading.replied
    reading.reply = None
    conv.user_text = "\n".join(typed)
    conv.attachments = _attachment_names(item.get("content"))
    conv.exchanges = []
    conv.answered = False
    conv.tags = []
    return True


def _read_reply(conv: Conversation, reading: _Reading, item: dict[str, Any]) -> None:
    text = "\n".join(_texts(item.get("content")))
    conv.answered = True
    reading.replied = True
    reading.reply = f"{reading.reply}\n\n{text}" if reading.reply else text
    asked = candidates_asked(text)
    if asked is not None:
        conv.latest_list = asked


def _function_call(item: dict[str, Any]) -> ToolExchange:
    try:
        arguments = json.loads(item.get("arguments") or "{}")
    except ValueError:
        arguments = {}
    return ToolExchange(name=str(item.get("name")), arguments=arguments)


def read_conversation(items: str | list[TResponseInputItem]) -> Conversation:
    """Find the user's latest message, this turn's tool calls and the latest list shown."""
    if isinstance(items, str):
        return Conversation(user_text=items)
    conv = Conversation()
    reading = _Reading()
    calls: dict[str, ToolExchange] = {}
    for raw in items:
        item = as_dict(raw)
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") == "user":
            if _read_user_message(conv, reading, item):
                calls = {}  # a new user message starts a new turn
        elif kind == "message" and item.get("role") == "assistant":
            _read_reply(conv, reading, item)
        elif kind == "function_call":
            exchange = _function_call(item)
            calls[str(item.get("call_id"))] = exchange
            conv.exchanges.append(exchange)
        elif kind == "function_call_output":
            answered = calls.get(str(item.get("call_id")))
            if answered is None:
                continue
            answered.output = tool_output_text(item.get("output"))
            if answered.name == "list_tasks":
                tasks = listed_tasks_of(answered.output)
                if tasks is not None:
                    conv.latest_list = tasks
    return conv

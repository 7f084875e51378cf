"""Deciding the next step: call task tools for the user's request, or reply once this turn's tools ran.

One model call returns either a batch of tool calls (the Runner runs them in order) or the reply. The
planner is stateless: each call re-reads the conversation, and this turn's exchanges say how far it got.

- A request about several tasks ("add three tasks: a, b and c", "complete the first and third ones") is
  one batch of calls; "everything" lists the tasks in that state first, then acts on each of them.
- Deleting every task (or every pending one) asks first; the answer "yes" deletes exactly the tasks
  that were shown with the question. Deleting every *completed* task goes ahead without asking.
- A position with no list in sight lists the tasks first. A title that matches several tasks gets
  "which one do you mean?", and a bare answer ("the second one", "#x7k2") finishes the request.
- The first reply of a thread says that this is the offline assistant; later ones do not.

Arguments carry the task tools' own argument names (:mod:`task_assistant.tasks.mcp_tools`); optional ones
are sent only when the tool's schema has them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from agents.tool import FunctionTool, Tool

from task_assistant.agent.listing import TaggedTask, listed_tasks_of
from task_assistant.agent.offline.conversation import Conversation, ToolExchange
from task_assistant.agent.offline.intents import ADD_MAX_TASKS, Intent, IntentKind, parse_intent
from task_assistant.agent.offline.naming import reference_answer
from task_assistant.agent.offline.questions import (
    asks_to_confirm_delete,
    candidates_asked,
    confirm_delete_question,
    plural,
)
from task_assistant.agent.offline.references import NeedList, Unclear, resolve, with_tag_keys
from task_assistant.agent.offline.replies import (
    HELP_TEXT,
    attachments_note,
    changes_summary,
    error_of,
    list_summary,
    with_offline_note,
)
from task_assistant.tasks.mcp_tools import LIMIT_ARG, NOTES_ARG, STATUS_ARG, TASK_ARG, TITLE_ARG, TOOL_NAMES

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


Step = list[Call] | Reply
"""One model call's output: tool calls to run in order, or the reply."""


@dataclass(frozen=True)
class _Tasks:
    """The tasks a change is about: (the tool's ``task`` argument, what the user called it)."""

    pairs: list[tuple[str, str]]


_TOOL_FOR: dict[IntentKind, str] = {
    "add": "add_task",
    "list": "list_tasks",
    "complete": "complete_task",
    "reopen": "reopen_task",
    "rename": "update_task",
    "notes": "update_task",
    "delete": "delete_task",
}
_CHANGES = ("complete", "reopen", "rename", "notes", "delete")


def decide(conv: Conversation, tools: list[Tool]) -> Step:
    """The next step for the conversation (see the module docstring)."""
    if conv.answered:
        # The request was answered in an earlier run; this run only continues after a client tool.
        names = sorted({e.name for e in conv.exchanges if e.name not in TOOL_NAMES})
        if names:
            return Reply(f"Thanks, I got the result of {', '.join(names)}.")
        return Reply("Is there anything else I can do for your list?")
    text, tags = with_tag_keys(conv.user_text, conv.tags)
    step = _plan(_understand(text, conv), conv, tags, {t.name: t for t in tools})
    if isinstance(step, Reply):
        text = " ".join(part for part in (attachments_note(conv.attachments), step.text) if part)
        return Reply(text if conv.replied_before else with_offline_note(text))
    return step


def _understand(text: str, conv: Conversation) -> Intent:
    """The request, taking the previous answer into account when it asked the user something."""
    intent = parse_intent(text)
    asked = conv.previous_reply or ""
    if asks_to_confirm_delete(asked):
        if intent.kind == "yes" or (intent.kind == "delete" and intent.every == "all"):
            return Intent("delete", every="all", confirmed=True)
    elif candidates_asked(asked) and conv.previous_request and intent.kind == "help":
        answer = reference_answer(text)
        earlier = parse_intent(conv.previous_request)
        if answer is not None and earlier.kind in _CHANGES:
            return replace(earlier, ref=answer, refs=(), every=None)
    return intent


def _plan(intent: Intent, conv: Conversation, tags: dict[str, TaggedTask], tools: dict[str, Tool]) -> Step:
    if intent.kind == "help":
        return Reply(HELP_TEXT if not conv.attachments else "")
    if intent.kind == "no":
        return Reply("Okay, I left your tasks as they are.")
    if intent.kind == "yes":
        return Reply("Okay. What would you like to do with your list?")
    tool = _TOOL_FOR[intent.kind]
    if tool not in tools or "list_tasks" not in tools:
        missing = tool if tool not in tools else "list_tasks"
        return Reply(f"I can't do that here: the {missing} tool is not available.")
    if intent.kind == "list":
        listed = _made(conv, "list_tasks")
        if not listed:
            return [_list_call(tools, intent.status)]
        return Reply(list_summary(intent.status, listed[-1]))
    if intent.kind == "add":
        return _plan_add(intent, conv, tools[tool])
    return _plan_change(intent, conv, tags, tools)


def _made(conv: Conversation, tool: str) -> list[ToolExchange]:
    return [e for e in conv.exchanges if e.name == tool]


def _props(tool: Tool) -> dict[str, Any]:
    return dict(tool.params_json_schema.get("properties", {})) if isinstance(tool, FunctionTool) else {}


def _list_call(tools: dict[str, Tool], status: str) -> Call:
    props = _props(tools["list_tasks"])
    args: dict[str, Any] = {}
    if STATUS_ARG in props:
        args[STATUS_ARG] = status
    if LIMIT_ARG in props:
        limit = props[LIMIT_ARG]
        maximum = limit.get("maximum") if isinstance(limit, dict) else None
        args[LIMIT_ARG] = int(maximum) if maximum is not None else LIST_LIMIT_DEFAULT
    return Call("list_tasks", args)


def _plan_add(intent: Intent, conv: Conversation, tool: Tool) -> Step:
    titles = intent.new_titles[:ADD_MAX_TASKS]
    made = _made(conv, tool.name)
    if not made:
        notes = {NOTES_ARG: intent.notes} if intent.notes and len(titles) == 1 else {}
        return [Call(tool.name, {TITLE_ARG: title, **notes}) for title in titles]
    text = changes_summary(tool.name, made, titles)
    found = len(intent.new_titles)
    if intent.expected is not None and intent.expected != found:
        text += f" (You said {intent.expected}, and I found {plural(found, 'task')} in your message.)"
    if found > ADD_MAX_TASKS:
        text += f" That was the first {ADD_MAX_TASKS}: send the rest in another message."
    return Reply(text)


def _targets(
    intent: Intent, conv: Conversation, tags: dict[str, TaggedTask], tools: dict[str, Tool]
) -> _Tasks | Step:
    """The tasks the request is about, or the step that must come first (a listing, or a reply)."""
    if intent.every is not None:
        return _every_target(intent, conv, tools)
    targets: list[tuple[str, str]] = []
    for ref in intent.targets:
        resolved = resolve(ref, conv, tags)
        if isinstance(resolved, NeedList):
            if _made(conv, "list_tasks"):  # listed already and still unclear: nothing more to look at
                return Reply("Which task do you mean? Say its number in the list above.")
            return [_list_call(tools, "all")]
        if isinstance(resolved, Unclear):
            return Reply(resolved.text)
        targets.append((resolved, tags[ref.lower()].mention if ref.lower() in tags else ref))
    return _Tasks(targets)


def _every_target(intent: Intent, conv: Conversation, tools: dict[str, Tool]) -> _Tasks | Step:
    """The tasks "everything" covers: those just listed for it, or, once deleting them all was
    confirmed, exactly those shown with the question."""
    assert intent.every is not None
    if intent.confirmed:
        rows = conv.latest_list
        if rows is None:
            return Reply("I can't see the list you said yes to any more: ask me again to delete everything.")
        return _Tasks([(row.id, row.title) for row in rows])
    listed = _made(conv, "list_tasks")
    if not listed:
        return [_list_call(tools, intent.every)]
    rows = listed_tasks_of(listed[-1].output)
    if rows is None:
        return Reply(f"Sorry, I couldn't look up your tasks: {(error_of(listed[-1]) or '').strip()}")
    if intent.kind == "complete":
        rows = [row for row in rows if not row.completed]
    elif intent.kind == "reopen":
        rows = [row for row in rows if row.completed]
    if not rows:
        return Reply(_NOTHING_TO_DO[intent.kind].format(which=_STATE_WORD.get(intent.every, "")))
    if intent.kind == "delete" and intent.every != "completed":
        return Reply(confirm_delete_question(len(rows)))
    return _Tasks([(row.id, row.title) for row in rows])


_STATE_WORD = {"pending": "pending ", "completed": "completed "}
_NOTHING_TO_DO = {
    "complete": "You have no pending tasks, so there was nothing to mark as done.",
    "reopen": "You have no completed tasks, so there was nothing to reopen.",
    "delete": "You have no {which}tasks, so there was nothing to delete.",
}


def _plan_change(
    intent: Intent, conv: Conversation, tags: dict[str, TaggedTask], tools: dict[str, Tool]
) -> Step:
    tool = _TOOL_FOR[intent.kind]
    targets = _targets(intent, conv, tags, tools)
    if not isinstance(targets, _Tasks):
        return targets
    pairs = targets.pairs
    made = _made(conv, tool)
    if not made:
        extra = {TITLE_ARG: intent.title} if intent.kind == "rename" else {}
        if intent.kind == "notes":
            extra = {NOTES_ARG: intent.notes}
        return [Call(tool, {TASK_ARG: task, **extra}) for task, _ in pairs]
    action = intent.kind if intent.kind in ("rename", "notes") else tool
    text = changes_summary(action, made, [ref for _, ref in pairs])
    if intent.every is not None and _more_than_listed(conv):
        text += " That was one page of them: say it again for the rest."
    return Reply(text)


def _more_than_listed(conv: Conversation) -> bool:
    listed = _made(conv, "list_tasks")
    try:
        payload = json.loads(listed[-1].output or "{}") if listed else {}
    except ValueError:
        return False
    return isinstance(payload, dict) and bool(payload.get("next_cursor"))

"""What the offline model says: help, the once-per-thread offline note and summaries of what the tools
did (the questions it asks are in :mod:`.questions`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from task_assistant.agent.listing import ListedTask, listed_tasks_of
from task_assistant.agent.offline.conversation import ToolExchange
from task_assistant.agent.offline.questions import joined, plural, quoted, which_question
from task_assistant.tasks.models import candidates_in, short_id

HELP_TEXT = (
    "I understand simple requests about your tasks. Try: \u201cadd buy milk\u201d, \u201cadd three tasks: "
    "bread, eggs and jam\u201d, \u201cwhat's on my list\u201d, \u201cmark buy milk as done\u201d, "
    "\u201cI finished everything\u201d, \u201crename the milk one to buy oat milk\u201d, "
    "\u201cadd a note to buy milk: semi-skimmed\u201d, \u201creopen buy milk\u201d or "
    "\u201cdelete the second one\u201d."
)
OFFLINE_NOTE = (
    "(I'm the offline assistant: no AI model is connected, so I understand simple requests about your "
    "tasks. Say \u201chelp\u201d for examples.)"
)
"""Said once per thread, after the first answer."""


def with_offline_note(text: str) -> str:
    return f"{text}\n\n{OFFLINE_NOTE}".strip()


# -- what the tools did -----------------------------------------------------------------------------


def _json_or_none(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def task_of(exchange: ToolExchange) -> dict[str, Any] | None:
    """The task a successful change returned (``{"task": …}`` or ``{"deleted": …}``)."""
    value = _json_or_none(exchange.output)
    if isinstance(value, Mapping):
        for key in ("task", "deleted"):
            if isinstance(value.get(key), Mapping):
                return dict(value[key])
        if "title" in value:
            return dict(value)
    return None


def error_of(exchange: ToolExchange) -> str | None:
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


_ONE_DONE = {
    "add_task": "Added {titles} to your list.",
    "complete_task": "Marked {titles} as done. Nice work!",
    "reopen_task": "Reopened {titles}; it's back on your list.",
    "rename": "Renamed it to {titles}.",
    "notes": "Saved the note on {titles}.",
    "delete_task": "Deleted {titles}.",
}
_MANY_DONE = {
    "add_task": "Added {count} to your list: {titles}.",
    "complete_task": "Marked {count} as done: {titles}. Nice work!",
    "reopen_task": "Reopened {count}: {titles}.",
    "delete_task": "Deleted {count}: {titles}.",
}
_VERB = {
    "add_task": "add",
    "complete_task": "complete",
    "reopen_task": "reopen",
    "update_task": "change",
    "delete_task": "delete",
}


def changes_summary(action: str, exchanges: Sequence[ToolExchange], refs: Sequence[str]) -> str:
    """What a batch of calls of one tool did; ``action`` is the tool, or ``rename``/``notes``.

    Successes are summed up in one sentence; each failure says why; the first call whose reference
    matched several tasks ends the reply with :func:`which_question` (``refs`` are what the user named,
    call by call).
    """
    done = [task_of(e) or {} for e in exchanges if error_of(e) is None]
    titles = [quoted(task.get("title", "the task")) for task in done]
    parts: list[str] = []
    if len(titles) == 1:
        parts.append(_ONE_DONE.get(action, "Done.").format(titles=titles[0]))
    elif titles:
        parts.append(
            _MANY_DONE.get(action, "Done: {titles}.").format(
                count=plural(len(titles), "task"), titles=joined(titles)
            )
        )
    failed = [
        (e, ref, error) for e, ref in zip(exchanges, refs, strict=False) if (error := error_of(e)) is not None
    ]
    question = ""
    for exchange, ref, error in failed:
        candidates = candidates_in(error)
        if candidates and not question:
            question = which_question(ref, candidates)
        elif len(exchanges) == 1:
            parts.append(f"Sorry, I couldn't do that: {error.strip()}")
        else:
            what = quoted(exchange.arguments.get("title") or ref.lstrip("@"))
            parts.append(f"I couldn't {_VERB.get(exchange.name, 'do')} {what}: {error.strip()}")
    return "\n\n".join(p for p in [" ".join(parts), question] if p)


def list_summary(status: str, exchange: ToolExchange) -> str:
    """The reply to "what's on my list": numbered as the widget shows them, short ids for equal titles."""
    error = error_of(exchange)
    if error is not None:
        return f"Sorry, I couldn't do that: {error.strip()}"
    tasks = listed_tasks_of(exchange.output) or []
    which = {"all": "", "pending": "pending ", "completed": "completed "}.get(status, "")
    if not tasks:
        return (
            f"You have no {which}tasks." if which else "Your list is empty. Add one with \u201cadd ...\u201d."
        )
    return f"You have {plural(len(tasks), which + 'task')}:\n" + numbered(tasks)


def numbered(tasks: Sequence[ListedTask]) -> str:
    """One line per task, numbered; a title shown twice carries its short id ("2. buy milk (#x7k2)")."""
    seen: dict[str, int] = {}
    for task in tasks:
        key = " ".join(task.title.split()).casefold()
        seen[key] = seen.get(key, 0) + 1
    lines = []
    for n, task in enumerate(tasks, start=1):
        title = " ".join(task.title.split())
        tag = f" ({short_id(task.id)})" if seen[title.casefold()] > 1 else ""
        lines.append(f"{n}. {title}{tag}{' (done)' if task.completed else ''}")
    return "\n".join(lines)


def attachments_note(names: Sequence[str]) -> str:
    if not names:
        return ""
    return (
        f"I see you attached {', '.join(names)}. I can't read attachments offline, but they are saved "
        "with the chat."
    )

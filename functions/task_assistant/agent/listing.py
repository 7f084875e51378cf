"""Conventions of the text the model sees: task lists, attachment notes and ``list_tasks`` results.

When the assistant shows tasks, the thread keeps a widget item. Models read thread history as text, so
the converter renders that widget with :func:`format_task_list`; "the second one" in a later message
then means line 2 of the most recent list. The offline model reads the same text back with
:func:`parse_task_list`, so both directions live here and cannot drift apart.

Within a turn, the rows come from the ``list_tasks`` tool's own output instead: :func:`listed_tasks_of`
reads it for both the chat server (which draws the widget) and the offline model (which refers to rows).

Format (one task per line, numbered as the user sees them)::

    Task list shown to the user (numbered as displayed):
    1. [ ] Buy milk (id: 01JD3...)
    2. [x] Call mom (id: 01JD2...)

A task the user @-mentions in a message reaches the model as a reference resolved at turn time
(:func:`format_tagged_task`, read back by :func:`parse_tagged_tasks`)::

    Tagged task: <task mention="buy milk" id="01JD3..." status="pending" title="Buy milk"/>
    Tagged task: <task mention="old thing" missing="true"/> (...: ignore this tag.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TASK_LIST_HEADER = "Task list shown to the user (numbered as displayed):"

ATTACHMENT_NOTE_PREFIX = "Attached file: "
"""The converter announces each attachment with a text part ``Attached file: <name> (<mime type>)``."""

ACTIVITY_HEADER = "What the assistant's tools did (shown to the user):"
"""Opens the one line a past workflow item becomes in the model's history ("...: Added “buy milk”.")."""

_LINE = re.compile(r"^\s*(\d+)\. \[( |x)\] (.*) \(id: ([0-9A-Za-z]+)\)\s*$")

TAG_PREFIX = "Tagged task: "
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_TAG = re.compile(
    rf"<task mention=(?P<mention>{_JSON_STRING})"
    rf'(?: id="(?P<id>[0-9A-Z]+)" status="(?P<status>pending|completed)" title=(?P<title>{_JSON_STRING})'
    r'| missing="true")/>'
)


@dataclass(frozen=True)
class ListedTask:
    """One row of a displayed list: enough to refer back to the task by position."""

    id: str
    title: str
    completed: bool


def format_task_list(tasks: Iterable[ListedTask]) -> str:
    """The text a model reads for a displayed list (an empty list says so explicitly)."""
    lines = [TASK_LIST_HEADER]
    rows = list(tasks)
    if not rows:
        lines.append("(no tasks)")
    for number, task in enumerate(rows, start=1):
        # Titles are single-line in the UI; a newline inside one would break the numbering.
        title = " ".join(task.title.split())
        lines.append(f"{number}. [{'x' if task.completed else ' '}] {title} (id: {task.id})")
    return "\n".join(lines)


def parse_task_list(text: str) -> list[ListedTask] | None:
    """The rows of a list rendered by :func:`format_task_list`, or None if ``text`` is not one."""
    if TASK_LIST_HEADER not in text:
        return None
    rows: list[ListedTask] = []
    for line in text[text.index(TASK_LIST_HEADER) + len(TASK_LIST_HEADER) :].splitlines():
        match = _LINE.match(line)
        if match:
            rows.append(ListedTask(id=match[4], title=match[3], completed=match[2] == "x"))
    return rows


@dataclass(frozen=True)
class TaggedTask:
    """A task the user @-mentioned: ``mention`` is the tag's text (their message shows "@<mention>").

    ``id`` is None when the tag names no task of theirs (deleted since, or never theirs).
    """

    mention: str
    id: str | None = None
    title: str = ""
    completed: bool = False


def format_tagged_task(tag: TaggedTask) -> str:
    """The text part a tag becomes: a precise reference, or a note to ignore a tag that names nothing."""
    mention = json.dumps(tag.mention, ensure_ascii=False)
    if tag.id is None:
        return (
            f'{TAG_PREFIX}<task mention={mention} missing="true"/> (The user tagged @{tag.mention}, but no '
            "task of theirs has that id now: it may have been deleted. Ignore this tag.)"
        )
    status = "completed" if tag.completed else "pending"
    title = json.dumps(" ".join(tag.title.split()), ensure_ascii=False)
    return f'{TAG_PREFIX}<task mention={mention} id="{tag.id}" status="{status}" title={title}/>'


def parse_tagged_tasks(text: str) -> list[TaggedTask]:
    """The tags :func:`format_tagged_task` wrote into ``text``, in order."""
    return [
        TaggedTask(
            mention=json.loads(m["mention"]),
            id=m["id"],
            title=json.loads(m["title"]) if m["title"] else "",
            completed=m["status"] == "completed",
        )
        for m in _TAG.finditer(text)
    ]


def tool_output_text(output: object) -> str:
    """The text of a tool output as the Agents SDK passes it on.

    A string, a content part (``{"type": "text", "text": ...}``, or a pydantic model of one), or a list
    of parts, whose texts are joined. A part without text counts as its JSON.
    """
    if isinstance(output, str):
        return output
    dump = getattr(output, "model_dump", None)
    if callable(dump):
        output = dump(exclude_none=True)
    if isinstance(output, Mapping):
        return str(output["text"]) if "text" in output else json.dumps(output)
    if isinstance(output, list):
        return "".join(tool_output_text(part) for part in output)
    return str(output)


def listed_tasks_of(output: object) -> list[ListedTask] | None:
    """The rows of a successful ``list_tasks`` output (``{"tasks": [...]}``); None for an error text."""
    try:
        payload = json.loads(tool_output_text(output))
    except ValueError:
        return None
    tasks = payload.get("tasks") if isinstance(payload, dict) else None
    if not isinstance(tasks, list):
        return None
    return [
        ListedTask(id=str(t["id"]), title=str(t.get("title", "")), completed=bool(t.get("completed")))
        for t in tasks
        if isinstance(t, dict) and "id" in t
    ]

"""The task list widget: what the user sees when the assistant lists tasks.

A ``ListView`` (key ``task_list``) with one row per task, numbered as displayed; a title that appears
twice shows each task's short id ("#x7k2") next to it, which the user can name it by. A pending task's
row has a "Complete" button whose action is ``{"type": "task.complete", "payload": {"task_id": ...},
"streaming": false}``; the ChatKit server handles it (``threads.sync_custom_action``, see
:mod:`task_assistant.chat.actions`) and answers with the redrawn list. A completed task's row shows its
title struck through and a "Done" badge.

The rows can be read back from a stored widget (:func:`rows_of`), so an update needs no extra query, and
the converter renders them as text for the model (:func:`task_assistant.agent.listing.format_task_list`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from chatkit.types import WidgetItem
from chatkit.widgets import DynamicWidgetRoot, WidgetRoot

from task_assistant.agent.listing import ListedTask
from task_assistant.tasks.models import short_id

TASK_LIST_KEY = "task_list"
COMPLETE_ACTION = "task.complete"
_TITLE_KEY = "title"
_DONE_KEY = "done"
_EMPTY_KEY = "empty"
_SHORT_ID_KEY = "short_id"

# The tree is built as plain data and validated as a DynamicWidgetRoot, which is exactly what ChatKit's
# WidgetTemplate.build does with a rendered .widget file (the named widget classes are deprecated).


def _row(number: int, task: ListedTask, *, with_short_id: bool = False) -> dict[str, Any]:
    trailing: dict[str, Any]
    if task.completed:
        trailing = {"type": "Badge", "key": _DONE_KEY, "label": "Done", "color": "success", "variant": "soft"}
    else:
        trailing = {
            "type": "Button",
            "label": "Complete",
            "size": "sm",
            "variant": "outline",
            # Not streaming: the click goes through while an answer streams (see chat/actions.py).
            "onClickAction": {"type": COMPLETE_ACTION, "payload": {"task_id": task.id}, "streaming": False},
        }
    title: dict[str, Any] = {"type": "Text", "key": _TITLE_KEY, "value": task.title, "truncate": True}
    if task.completed:
        title |= {"lineThrough": True, "color": "secondary"}
    # Equal titles are told apart by short id ("complete #x7k2"), so the list shows it for them.
    short: list[dict[str, Any]] = (
        [
            {
                "type": "Text",
                "key": _SHORT_ID_KEY,
                "value": short_id(task.id),
                "color": "secondary",
                "size": "xs",
            }
        ]
        if with_short_id
        else []
    )
    return {
        "type": "ListViewItem",
        "key": task.id,
        "children": [
            {
                "type": "Row",
                "gap": 2,
                "align": "center",
                "children": [
                    {"type": "Text", "value": f"{number}.", "color": "secondary", "size": "sm"},
                    title,
                    *short,
                    {"type": "Spacer"},
                    trailing,
                ],
            }
        ],
    }


def task_list_widget(tasks: Sequence[ListedTask]) -> DynamicWidgetRoot:
    """The widget for ``tasks`` in display order (an empty list shows "No tasks")."""
    if tasks:
        seen = Counter(" ".join(task.title.split()).casefold() for task in tasks)
        children = [
            _row(n, task, with_short_id=seen[" ".join(task.title.split()).casefold()] > 1)
            for n, task in enumerate(tasks, start=1)
        ]
    else:
        children = [
            {
                "type": "ListViewItem",
                "key": _EMPTY_KEY,
                "children": [{"type": "Text", "value": "No tasks", "color": "secondary"}],
            }
        ]
    done = sum(t.completed for t in tasks)
    status = f"Tasks \u00b7 {len(tasks)}" + (f" ({done} done)" if done else "")
    return DynamicWidgetRoot.model_validate(
        {"type": "ListView", "key": TASK_LIST_KEY, "status": {"text": status}, "children": children}
    )


def with_rows(item: WidgetItem, rows: Sequence[ListedTask]) -> WidgetItem:
    """``item`` (a task list) drawn anew with ``rows``, its copy text too."""
    return item.model_copy(update={"widget": task_list_widget(rows), "copy_text": copy_text(rows)})


def _children(node: Any) -> list[Any]:
    kids = node.get("children") if isinstance(node, dict) else None
    if isinstance(kids, dict):
        return [kids]
    return list(kids) if isinstance(kids, list) else []


def rows_of(widget: WidgetRoot) -> list[ListedTask] | None:
    """The tasks a task-list widget shows, in order; None for any other widget.

    Works on the widget as stored and read back (ChatKit may parse it into its typed classes).
    """
    tree = widget.model_dump(exclude_none=True)
    if tree.get("type") != "ListView" or tree.get("key") != TASK_LIST_KEY:
        return None
    rows: list[ListedTask] = []
    for item in _children(tree):
        if item.get("key") in (None, _EMPTY_KEY):
            continue
        parts = [part for row in _children(item) for part in _children(row)]
        title = next((str(p.get("value", "")) for p in parts if p.get("key") == _TITLE_KEY), "")
        done = any(p.get("type") == "Badge" and p.get("key") == _DONE_KEY for p in parts)
        rows.append(ListedTask(id=str(item["key"]), title=title, completed=done))
    return rows


def is_task_list(widget: WidgetRoot) -> bool:
    return rows_of(widget) is not None


def copy_text(tasks: Sequence[ListedTask]) -> str:
    """What "copy" puts on the clipboard: one task per line, done ones marked."""
    return "\n".join(f"{'[x]' if t.completed else '[ ]'} {t.title}" for t in tasks) or "No tasks"

"""Widget actions: the task list's "Complete" button.

The button's action (:mod:`task_assistant.chat.widgets`) says ``streaming: false``, so the widget sends
``threads.sync_custom_action``: the click is not held back while the thread streams an answer, and the
answer is the redrawn widget item, as JSON. Widgets stored before that send ``threads.custom_action``
and get a ``thread.item.replaced`` event. Both run :func:`complete_from_widget`.

The redraw changes the stored widget item with a conditional write that is retried on the newer item
(:func:`redraw_stored_list`), so clicks that race (two rows, two tabs, a click during a stream) never put
back a row that another click has just completed. A turn that redraws a list it showed, because a later
tool call changed one of its tasks (:mod:`task_assistant.chat.activity`), goes the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from chatkit.actions import Action
from chatkit.types import ThreadItem, WidgetItem

from task_assistant.agent.listing import ListedTask
from task_assistant.chat.store.dynamodb_store import ItemChangedError
from task_assistant.chat.widgets import COMPLETE_ACTION, rows_of, with_rows
from task_assistant.context import RequestContext
from task_assistant.tasks.models import AmbiguousTaskError, TaskConflictError, TaskError, TaskNotFoundError
from task_assistant.tasks.service import TaskService


class WidgetActionError(Exception):
    """An action that cannot be carried out: ``message`` is for the user, ``status`` its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@runtime_checkable
class ItemUpdater(Protocol):
    """A store that can change one item without losing a concurrent write (``DynamoDBStore``)."""

    async def update_item(
        self,
        thread_id: str,
        item_id: str,
        change: Callable[[ThreadItem], ThreadItem],
        context: RequestContext,
    ) -> ThreadItem: ...


def task_to_complete(action: Action[str, Any]) -> str:
    """The task id a ``task.complete`` action names; :class:`WidgetActionError` for any other action."""
    if action.type != COMPLETE_ACTION:
        raise WidgetActionError(400, f"Unknown action {action.type!r}.")
    payload = action.payload if isinstance(action.payload, Mapping) else {}
    task_id = payload.get("task_id")
    if not isinstance(task_id, str) or not task_id.strip():
        raise WidgetActionError(400, "The action did not say which task to complete.")
    return task_id


def _status_of(exc: TaskError) -> int:
    if isinstance(exc, TaskNotFoundError):
        return 404
    return 409 if isinstance(exc, TaskConflictError | AmbiguousTaskError) else 400


async def complete_from_widget(
    tasks: TaskService,
    store: ItemUpdater,
    thread_id: str,
    action: Action[str, Any],
    sender: WidgetItem | None,
    context: RequestContext,
) -> WidgetItem | None:
    """Complete the task ``action`` names, as the caller, and redraw the task list that sent it.

    Returns the stored, redrawn widget item; None when the sender is not a task list (the task is
    completed all the same). Raises :class:`WidgetActionError` for a bad action or a task the caller
    cannot complete, and when the list kept changing under every attempt to redraw it.
    """
    task_id = task_to_complete(action)
    try:
        task = await tasks.complete(context, task_id)
    except TaskError as exc:
        raise WidgetActionError(_status_of(exc), exc.message) from exc
    if sender is None or rows_of(sender.widget) is None:
        return None
    done = ListedTask(id=task.id, title=task.title, completed=task.completed)
    try:
        return await redraw_stored_list(store, thread_id, sender.id, replacing(done), context)
    except ItemChangedError as exc:
        message = f"“{task.title}” is done, but the list kept changing while it was redrawn; reload it."
        raise WidgetActionError(409, message) from exc


RowsEdit = Callable[[list[ListedTask]], list[ListedTask]]
"""A change to the rows of a task list."""


def replacing(task: ListedTask) -> RowsEdit:
    """The edit that shows ``task`` as it is now in whichever row lists it."""
    return lambda rows: [task if row.id == task.id else row for row in rows]


def removing(task_id: str) -> RowsEdit:
    """The edit that drops the row of ``task_id``."""
    return lambda rows: [row for row in rows if row.id != task_id]


async def redraw_stored_list(
    store: ItemUpdater, thread_id: str, item_id: str, edit: RowsEdit, context: RequestContext
) -> WidgetItem | None:
    """Apply ``edit`` to the rows of the stored task list ``item_id``, over any write made meanwhile.

    Returns the stored result; None if the item is not a task list. ``NotFoundError`` when it is not
    stored (yet), :class:`ItemChangedError` when it kept changing.
    """

    def redraw(item: ThreadItem) -> ThreadItem:
        rows = rows_of(item.widget) if isinstance(item, WidgetItem) else None
        if not isinstance(item, WidgetItem) or rows is None:
            return item
        return with_rows(item, edit(rows))

    updated = await store.update_item(thread_id, item_id, redraw, context)
    return updated if isinstance(updated, WidgetItem) and rows_of(updated.widget) is not None else None

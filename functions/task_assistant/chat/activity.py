"""What the task tools did in a turn: a workflow item that stays in the thread, and the lists they showed.

While the agent runs, every task tool call becomes a task of a ChatKit workflow item, the widget's own
vocabulary for "what the assistant did". It appears as the tool starts ("Adding “buy milk”…", with a
spinner) and becomes what happened when it ends ("Added “buy milk”", with a check; a failure says what went
wrong). The workflow is a thread item like any other: ChatKit stores it once it is done (when the answer
or a widget follows it), so a reloaded thread shows the actions behind each answer. Its summary line says
what changed ("Added 3 tasks"), and it is collapsed once the turn moves on.

A lookup (``list_tasks``) is different: it changes nothing, so while it runs a passing progress line says
so ("Looking up your tasks…"), and what it found is shown as a task-list widget (:mod:`.widgets`), which
is its record (a lookup that fails goes into the workflow). A later call of the same turn that changes a
listed task redraws the list (a replaced item), so a list shown before "complete everything" does not go
on showing those tasks as pending.

If the run fails after some tools ran, :func:`interrupted_workflow` gives the done event that stores the
workflow anyway; if the client disconnects, :func:`save_interrupted_workflows` stores it (ChatKit saves
only partial messages). The model reads a past workflow as one line (:func:`activity_line`), so the
history it is sent stays bounded.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents import RunContextWrapper, RunHooks
from agents.tool import Tool
from agents.tool_context import ToolContext
from chatkit.agents import AgentContext
from chatkit.icons import IconName
from chatkit.store import NotFoundError, Store
from chatkit.types import (
    CustomSummary,
    CustomTask,
    ProgressUpdateEvent,
    ThreadItem,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    WidgetItem,
    WorkflowItem,
)

from task_assistant.agent.listing import ACTIVITY_HEADER, ListedTask, listed_tasks_of, tool_output_text
from task_assistant.chat.actions import ItemUpdater, redraw_stored_list, removing, replacing
from task_assistant.chat.store.dynamodb_store import ItemChangedError
from task_assistant.chat.widgets import copy_text, rows_of, task_list_widget, with_rows
from task_assistant.context import RequestContext
from task_assistant.tasks.models import looks_like_task_id

ACTIVITY_LINE_MAX_ENTRIES = 10
"""A past workflow reaches the model as one line naming at most this many actions."""
ERROR_DETAIL_MAX_CHARS = 300
INTERRUPTED_DETAIL = "Stopped before it finished: it may or may not have taken effect."

_ICONS: dict[str, IconName] = {
    "add_task": "plus",
    "list_tasks": "search",
    "complete_task": "check-circle",
    "reopen_task": "reload",
    "update_task": "write",
    "delete_task": "dot",
}
_COUNTED: dict[str, str] = {
    "plus": "added",
    "check-circle": "completed",
    "reload": "reopened",
    "write": "updated",
    "dot": "deleted",
}
"""Summary verbs by task icon (the icon is what a stored task keeps of the tool that ran)."""


# --------------------------------------------------------------------------------------------------
# Texts


def _quoted(ref: object, titles: Mapping[str, str] | None = None) -> str:
    text = " ".join(str(ref or "").split())
    if titles and text.upper() in titles:
        text = titles[text.upper()]
    elif not text or looks_like_task_id(text):
        return "the task"
    text = text if len(text) <= 40 else text[:39] + "\u2026"
    return f"\u201c{text}\u201d"


def progress_text(
    tool_name: str, args: Mapping[str, Any], titles: Mapping[str, str] | None = None
) -> str | None:
    """What the user sees while ``tool_name`` runs ("Adding “buy milk”…"), None for other tools.

    ``titles`` maps task ids (upper case) to titles the user has seen, so a call by id still reads
    "Deleting “buy milk”…".
    """
    task = _quoted(args.get("task"), titles)
    match tool_name:
        case "add_task":
            return f"Adding {_quoted(args.get('title'))}\u2026"
        case "list_tasks":
            return f"Looking up your {_which(args)}tasks\u2026"
        case "complete_task":
            return f"Completing {task}\u2026"
        case "reopen_task":
            return f"Reopening {task}\u2026"
        case "update_task":
            if args.get("title"):
                return f"Renaming {task} to {_quoted(args.get('title'))}\u2026"
            return f"Updating the notes of {task}\u2026"
        case "delete_task":
            return f"Deleting {task}\u2026"
    return None


def _which(args: Mapping[str, Any]) -> str:
    status = args.get("status")
    return f"{status} " if status in ("pending", "completed") else ""


def _task_in(output: str) -> dict[str, Any] | None:
    """The task of a successful change (``{"task": …}`` or ``{"deleted": …}``), None for an error text."""
    try:
        value = json.loads(output)
    except ValueError:
        return None
    if isinstance(value, dict):
        for key in ("task", "deleted"):
            if isinstance(value.get(key), dict) and "id" in value[key]:
                return dict(value[key])
    return None


def outcome_text(
    tool_name: str, args: Mapping[str, Any], output: str, titles: Mapping[str, str] | None = None
) -> tuple[str, str | None]:
    """What a finished call did ("Added “buy milk”"), and the error text when it failed (else None)."""
    if tool_name == "list_tasks":
        rows = listed_tasks_of(output)
        if rows is not None:
            count = f"{len(rows)} " if rows else "no "
            return f"Found {count}{_which(args)}task{'' if len(rows) == 1 else 's'}", None
        return f"Couldn't look up your {_which(args)}tasks", _detail(output)
    task = _task_in(output)
    if task is None:
        failed = {
            "add_task": f"Couldn't add {_quoted(args.get('title'))}",
            "complete_task": f"Couldn't complete {_quoted(args.get('task'), titles)}",
            "reopen_task": f"Couldn't reopen {_quoted(args.get('task'), titles)}",
            "update_task": f"Couldn't change {_quoted(args.get('task'), titles)}",
            "delete_task": f"Couldn't delete {_quoted(args.get('task'), titles)}",
        }
        return failed.get(tool_name, "Couldn't finish"), _detail(output)
    title = _quoted(task.get("title"))
    before = _quoted(args.get("task"), titles)
    renamed = f"Renamed it to {title}" if before in ("the task", title) else f"Renamed {before} to {title}"
    done = {
        "add_task": f"Added {title}",
        "complete_task": f"Completed {title}",
        "reopen_task": f"Reopened {title}",
        "update_task": renamed if args.get("title") else f"Updated the notes of {title}",
        "delete_task": f"Deleted {title}",
    }
    return done.get(tool_name, "Done"), None


def _detail(output: str) -> str:
    text = " ".join(output.split()) or "The tool returned nothing."
    return text if len(text) <= ERROR_DETAIL_MAX_CHARS else text[: ERROR_DETAIL_MAX_CHARS - 1] + "\u2026"


def summary_title(tasks: Iterable[Any]) -> str:
    """The collapsed workflow's one line: the one action it holds, or counts ("Added 2 tasks, deleted 1")."""
    finished = [t for t in tasks if isinstance(t, CustomTask) and t.status_indicator != "loading" and t.title]
    if len(finished) == 1:
        return str(finished[0].title)
    done = Counter(
        _COUNTED[t.icon] for t in finished if t.status_indicator == "complete" and t.icon in _COUNTED
    )
    stopped = sum(t.status_indicator != "complete" and t.content == INTERRUPTED_DETAIL for t in finished)
    failed = sum(t.status_indicator != "complete" for t in finished) - stopped
    parts = [f"{verb} {n} task{'' if n == 1 else 's'}" for verb, n in done.items()]
    if failed:
        parts.append(f"{failed} action{'' if failed == 1 else 's'} failed")
    if stopped:
        parts.append(f"{stopped} action{'' if stopped == 1 else 's'} stopped")
    line = ", ".join(parts) or "Looked up your tasks"
    return line[0].upper() + line[1:]


def activity_line(item: WorkflowItem) -> str | None:
    """How the model reads a past workflow: one line naming its actions, or None when it has none."""
    texts = [t.title for t in item.workflow.tasks if isinstance(t, CustomTask) and t.title]
    if not texts:
        return None
    shown = texts[:ACTIVITY_LINE_MAX_ENTRIES]
    more = f"; and {len(texts) - len(shown)} more" if len(texts) > len(shown) else ""
    return f"{ACTIVITY_HEADER} " + "; ".join(shown) + more + "."


# --------------------------------------------------------------------------------------------------
# The hooks


@dataclass
class _Running:
    workflow: WorkflowItem | None
    """None for a lookup (``list_tasks``), which shows a progress line instead."""
    index: int
    tool: str
    args: dict[str, Any]


def _arguments(context: RunContextWrapper[Any]) -> dict[str, Any]:
    raw = context.tool_arguments if isinstance(context, ToolContext) else "{}"
    try:
        args = json.loads(raw or "{}")
    except ValueError:
        return {}
    return args if isinstance(args, dict) else {}


def _call_id(context: RunContextWrapper[Any], tool: Tool) -> str:
    return context.tool_call_id if isinstance(context, ToolContext) else tool.name


class ToolActivity(RunHooks[AgentContext[RequestContext]]):
    """Records each task tool call of a turn in a workflow item and shows what ``list_tasks`` found.

    ``titles`` (task id in upper case -> title, from lists already shown) names tasks the model refers
    to by id. ``lists``: the store the lists are redrawn in (None: from the turn's own copy). One
    instance serves one turn.
    """

    def __init__(self, titles: Mapping[str, str] | None = None, *, lists: ItemUpdater | None = None) -> None:
        self.titles: dict[str, str] = dict(titles or {})
        self.lists = lists
        self._running: dict[str, _Running] = {}
        self._lists: list[WidgetItem] = []

    async def on_tool_start(
        self, context: RunContextWrapper[AgentContext[RequestContext]], agent: Any, tool: Tool
    ) -> None:
        args = _arguments(context)
        text = progress_text(tool.name, args, self.titles)
        if text is None:
            return
        ctx = context.context
        key = _call_id(context, tool)
        if tool.name == "list_tasks":
            # A lookup changes nothing and the list it shows is its record: a passing line is enough.
            await ctx.stream(ProgressUpdateEvent(text=text, icon=_ICONS[tool.name]))
            self._running[key] = _Running(None, -1, tool.name, args)
            return
        await ctx.add_workflow_task(
            CustomTask(title=text, icon=_ICONS[tool.name], status_indicator="loading")
        )
        workflow = ctx.workflow_item
        assert workflow is not None  # add_workflow_task opens one when none is open
        self._running[key] = _Running(workflow, len(workflow.workflow.tasks) - 1, tool.name, args)

    async def on_tool_end(
        self, context: RunContextWrapper[AgentContext[RequestContext]], agent: Any, tool: Tool, result: object
    ) -> None:
        running = self._running.pop(_call_id(context, tool), None)
        if running is None:
            return
        ctx = context.context
        output = tool_output_text(result)
        text, error = outcome_text(running.tool, running.args, output, self.titles)
        task = CustomTask(
            title=text,
            icon=_ICONS[running.tool],
            content=error,
            status_indicator="none" if error else "complete",
        )
        rows = listed_tasks_of(output) if running.tool == "list_tasks" else None
        if rows is not None:
            await self._show_list(ctx, rows)
            return
        workflow = running.workflow
        if workflow is None:  # a lookup that failed: that goes on record
            await ctx.add_workflow_task(task)
            workflow = ctx.workflow_item
        elif ctx.workflow_item is workflow:
            await ctx.update_workflow_task(task, running.index)
        else:  # already closed (rare: something else was shown meanwhile): store the update anyway
            workflow.workflow.tasks[running.index] = task
            await ctx.stream(ThreadItemReplacedEvent(item=workflow))
        if workflow is not None:
            workflow.workflow.summary = CustomSummary(title=summary_title(workflow.workflow.tasks))
        if error is None:
            await self._redraw_lists(ctx, running.tool, _task_in(output) or {})

    async def _show_list(self, ctx: AgentContext[RequestContext], rows: list[ListedTask]) -> None:
        self.titles.update({row.id.upper(): row.title for row in rows})
        if ctx.workflow_item is not None:
            # Close what came before the list here, not later in ChatKit's stream: a call that starts
            # meanwhile must open a new workflow below the list.
            await ctx.end_workflow(summary=ctx.workflow_item.workflow.summary)
        item = WidgetItem(
            id=ctx.generate_id("message"),
            thread_id=ctx.thread.id,
            created_at=datetime.now(),
            widget=task_list_widget(rows),
            copy_text=copy_text(rows),
        )
        self._lists.append(item)
        await ctx.stream(ThreadItemDoneEvent(item=item))

    async def _redraw_lists(
        self, ctx: AgentContext[RequestContext], tool: str, task: Mapping[str, Any]
    ) -> None:
        """Show a change to a task in the lists this turn already showed.

        With :attr:`lists` the stored list is redrawn over whatever changed it meanwhile (a Complete click
        on another row); a list ChatKit has not stored yet, or one that keeps changing, is redrawn from
        the turn's own copy.
        """
        task_id = str(task.get("id", ""))
        if tool == "delete_task":
            edit = removing(task_id)
        else:
            edit = replacing(
                ListedTask(
                    id=task_id, title=str(task.get("title", "")), completed=bool(task.get("completed"))
                )
            )
        for index, item in enumerate(self._lists):
            rows = rows_of(item.widget) or []
            if not any(row.id == task_id for row in rows):
                continue
            stored = None
            if self.lists is not None:
                with contextlib.suppress(NotFoundError, ItemChangedError):
                    stored = await redraw_stored_list(
                        self.lists, ctx.thread.id, item.id, edit, ctx.request_context
                    )
            item = stored or with_rows(item, edit(rows))
            self._lists[index] = item
            await ctx.stream(ThreadItemReplacedEvent(item=item))


# --------------------------------------------------------------------------------------------------
# A turn that did not finish


def _stopped(item: WorkflowItem) -> WorkflowItem:
    """The workflow as it stands, with tasks still running marked as stopped and a summary line."""
    tasks = [
        task.model_copy(update={"status_indicator": "none", "content": INTERRUPTED_DETAIL})
        if isinstance(task, CustomTask) and task.status_indicator == "loading"
        else task
        for task in item.workflow.tasks
    ]
    workflow = item.workflow.model_copy(
        update={"tasks": tasks, "summary": CustomSummary(title=summary_title(tasks)), "expanded": False}
    )
    return item.model_copy(update={"workflow": workflow})


def interrupted_workflow(ctx: AgentContext[RequestContext]) -> ThreadItemDoneEvent | None:
    """After a failed run: the event that stores the open workflow (None when there is none)."""
    item = ctx.workflow_item
    if item is None or not item.workflow.tasks:
        return None
    ctx.workflow_item = None
    return ThreadItemDoneEvent(item=_stopped(item))


async def save_interrupted_workflows(
    store: Store[RequestContext], thread_id: str, pending: Iterable[ThreadItem], context: RequestContext
) -> None:
    """After a disconnect: store the workflows that were still open (ChatKit saves only messages)."""
    for item in pending:
        if isinstance(item, WorkflowItem) and item.workflow.tasks:
            await store.add_thread_item(thread_id, _stopped(item), context=context)

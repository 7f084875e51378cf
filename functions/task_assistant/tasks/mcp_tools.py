"""The task tools an MCP client sees: ``add_task``, ``list_tasks``, ``complete_task``, ``reopen_task``,
``update_task``, ``delete_task``.

Each tool is one function: its decorator gives the title and the behaviour hints (``ToolAnnotations``),
its signature the input schema (described ``Annotated`` arguments) and, through the return type, the
output schema; its docstring is the description the model reads. Every tool acts through the one
:class:`~task_assistant.tasks.service.TaskService`, so MCP clients, the agent and the REST API see the same
rules. :mod:`task_assistant.tasks.mcp_server` serves them.

Who a tool acts for
-------------------
No tool has a user argument. A tool reads the user (and the service) from the state of its *connection*
(:class:`ToolSession`, through the SDK's ``Context``), which the server binds to a verified user when the
connection opens, so a model cannot name another user.

Results
-------
Successful calls return ``structured_content`` and the same JSON as text (``{"task": {...}}``,
``{"deleted": {...}}`` or ``{"status", "tasks", "next_cursor"}``); the agent layer can render a widget from
the list output. Task errors are tool errors (``is_error``) whose text is the service's clear message
(an ambiguous title lists the candidates with their ids) and whose structured content is
``{"error": {"code", "message", ...}}``. Unexpected failures (ours, such as DynamoDB being unreachable)
are logged with the tool, user and request id, and reach the client only as a generic ``internal_error``.

Retries
-------
When the caller carries :attr:`~task_assistant.context.RequestContext.tool_effects` (the chat server sets
it for the turn answering a user message), a changing tool asks it first: a call the message's earlier
answer already applied is not applied again, and reports what it changed as it is now (the task's
current state; a deleted task's record as it was). Read-only tools and callers without it (stdio) just
run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NamedTuple

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from task_assistant.context import RequestContext
from task_assistant.log import logger
from task_assistant.tasks.models import (
    NOTES_MAX_CHARS,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    TASK_TITLE_MAX_CHARS,
    Task,
    TaskError,
    TaskFilter,
    TaskNotFoundError,
)
from task_assistant.tasks.service import TaskService

INTERNAL_ERROR_MESSAGE = (
    "The task service is not available right now; nothing was changed. Try again shortly."
)


# -- who a tool acts for -----------------------------------------------------------------------------


class ToolSession(NamedTuple):
    """Per-connection state: the verified caller every tool call on this connection acts for, and the
    service of the server the connection belongs to."""

    caller: RequestContext
    tasks: TaskService


ToolContext = Context[ToolSession, Any]


def bound(ctx: ToolContext) -> ToolSession:
    """The state of the connection a call arrived on, set when it opened (never from the call)."""
    return ctx.request_context.lifespan_context


# -- results -----------------------------------------------------------------------------------------


class TaskResult(BaseModel):
    """Output of add_task, complete_task, reopen_task and update_task."""

    task: Task


class DeletedResult(BaseModel):
    """Output of delete_task: the task as it was before deletion."""

    deleted: Task


class TaskListResult(BaseModel):
    """Output of list_tasks: one page, newest first."""

    status: TaskFilter
    tasks: list[Task]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null at the end."
    )


def _ok(result: BaseModel) -> CallToolResult:
    # Compact JSON for the text the model reads (the SDK's own conversion would indent it).
    data = result.model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
        structured_content=data,
    )


def _failed(error: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=error["message"])],
        structured_content={"error": error},
        is_error=True,
    )


async def _replayed(session: ToolSession, recorded: dict[str, Any]) -> CallToolResult:
    """A call this message's earlier answer already applied: what it changed, as it is now."""
    if "task" not in recorded:  # delete_task: the task is gone, as that call left it
        return _ok(DeletedResult.model_validate(recorded))
    task = Task.model_validate(recorded["task"])
    try:
        current = await session.tasks.get(session.caller, task.id)
    except TaskNotFoundError:
        raise TaskNotFoundError(
            task.id, f"This request was already carried out for {task.title!r}, which has since been deleted."
        ) from None
    return _ok(TaskResult(task=current))


ToolBody = Callable[..., Awaitable[BaseModel]]


def task_tool(*, title: str, annotations: ToolAnnotations) -> Callable[[ToolBody], Tool]:
    """Make ``body`` an MCP tool whose result, task error or internal error is reported as described above.

    ``body`` takes ``ctx: ToolContext`` and returns its result model. The SDK reads the body's signature
    (arguments, the ``Context`` parameter, return type as output schema) and docstring through
    ``functools.wraps``, and passes the ``CallToolResult`` built here through, checking a success against
    the output schema.
    """

    changes = annotations.read_only_hint is not True

    def make(body: ToolBody) -> Tool:
        @functools.wraps(body)
        async def run(*, ctx: ToolContext, **arguments: Any) -> CallToolResult:
            session = bound(ctx)
            caller = session.caller
            try:
                if not changes or caller.tool_effects is None:
                    return _ok(await body(ctx=ctx, **arguments))
                call = await caller.tool_effects.begin(body.__name__, arguments)
                if call.recorded is not None:
                    return await _replayed(session, call.recorded)
                result = await body(ctx=ctx, **arguments)
                await call.record(result.model_dump(mode="json"))
                return _ok(result)
            except TaskError as exc:
                return _failed(exc.to_dict())
            except Exception:
                # Our fault (e.g. DynamoDB unavailable): logged with context, reported without details.
                logger.exception(
                    "Task tool failed",
                    extra={"tool": body.__name__, "user_id": caller.user_id, "request_id": caller.request_id},
                )
                return _failed({"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE})

        return Tool.from_function(run, title=title, annotations=annotations)

    return make


# -- the tools ---------------------------------------------------------------------------------------

TaskRef = Annotated[
    str,
    Field(
        description=(
            "The task: its id (from add_task or list_tasks), its short id (the id's last four characters "
            "after '#', e.g. '#x7k2'), or its title. A title may be partial if it matches only one task; "
            "case does not matter."
        )
    ),
]
Title = Annotated[
    str, Field(description=f"What to do, e.g. 'Buy milk' (1 to {TASK_TITLE_MAX_CHARS} characters).")
]
NewTitle = Annotated[
    str | None, Field(description=f"The new title (1 to {TASK_TITLE_MAX_CHARS} characters); omit to keep it.")
]
Notes = Annotated[str | None, Field(description=f"Optional details (up to {NOTES_MAX_CHARS:,} characters).")]
NewNotes = Annotated[
    str | None,
    Field(
        description=f"New notes (up to {NOTES_MAX_CHARS:,} characters); '' clears them; omit to keep them."
    ),
]

# Every tool has open_world_hint=False: it touches the user's task list and nothing else.


@task_tool(
    title="Add task",
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
)
async def add_task(title: Title, ctx: ToolContext, notes: Notes = None) -> TaskResult:
    """Add a task to the user's list. Returns the new task with its id."""
    caller, tasks = bound(ctx)
    return TaskResult(task=await tasks.add(caller, title, notes))


@task_tool(title="List tasks", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
async def list_tasks(
    ctx: ToolContext,
    status: Annotated[
        TaskFilter, Field(description="Which tasks: 'pending' (not done), 'completed' (done) or 'all'.")
    ] = "all",
    limit: Annotated[
        int, Field(description=f"How many tasks per page, 1 to {PAGE_SIZE_MAX}.")
    ] = PAGE_SIZE_DEFAULT,
    cursor: Annotated[
        str | None, Field(description="next_cursor from the previous page, to continue a listing.")
    ] = None,
) -> TaskListResult:
    """List the user's tasks, newest first, one page at a time (see next_cursor)."""
    caller, tasks = bound(ctx)
    page = await tasks.list(caller, status, limit, cursor)
    return TaskListResult(status=status, tasks=page.tasks, next_cursor=page.next_cursor)


@task_tool(
    title="Complete task",
    annotations=ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
)
async def complete_task(task: TaskRef, ctx: ToolContext) -> TaskResult:
    """Mark a task as done. Completing a task that is already done changes nothing."""
    caller, tasks = bound(ctx)
    found = await tasks.resolve(caller, task, prefer="pending")
    if found.completed:  # already done: nothing to write, as in the service
        return TaskResult(task=found)
    return TaskResult(task=await tasks.complete(caller, found.id, found.version))


@task_tool(
    title="Reopen task",
    annotations=ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
)
async def reopen_task(task: TaskRef, ctx: ToolContext) -> TaskResult:
    """Mark a done task as not done again."""
    caller, tasks = bound(ctx)
    found = await tasks.resolve(caller, task, prefer="completed")
    if not found.completed:
        return TaskResult(task=found)
    return TaskResult(task=await tasks.reopen(caller, found.id, found.version))


@task_tool(
    title="Update task",
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
)
async def update_task(
    task: TaskRef, ctx: ToolContext, title: NewTitle = None, notes: NewNotes = None
) -> TaskResult:
    """Rename a task and/or change its notes. Give at least one of title or notes."""
    caller, tasks = bound(ctx)
    found = await tasks.resolve(caller, task)
    return TaskResult(
        task=await tasks.update(caller, found.id, title=title, notes=notes, expected_version=found.version)
    )


@task_tool(
    title="Delete task",
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False),
)
async def delete_task(task: TaskRef, ctx: ToolContext) -> DeletedResult:
    """Delete a task permanently. Returns the deleted task."""
    caller, tasks = bound(ctx)
    found = await tasks.resolve(caller, task)
    return DeletedResult(deleted=await tasks.delete(caller, found.id, found.version))


TASK_TOOLS: tuple[Tool, ...] = (add_task, list_tasks, complete_task, reopen_task, update_task, delete_task)

# The tools' argument names, for code that builds calls (the offline model). The tool functions in this
# module take parameters of these names; test_agent_offline_tools.py checks them against the schemas.
TASK_ARG = "task"
"""Names an existing task by id or title (complete_task, reopen_task, update_task, delete_task)."""
TITLE_ARG = "title"
NOTES_ARG = "notes"
STATUS_ARG = "status"
LIMIT_ARG = "limit"

TOOL_NAMES: tuple[str, ...] = tuple(tool.name for tool in TASK_TOOLS)

"""``/tasks``: the REST face of the task service the MCP tools use (same class, same table, same rules).

``GET /tasks/search?q=`` serves the ChatKit widget's @-mention picker (``entities.onTagSearch``): the
caller's tasks whose title matches, as the widget's ``Entity`` objects.

Conditional changes: every single-task response carries ``ETag: "<version>"``; send it back as
``If-Match`` (or ``expected_version`` in a PATCH body) and a change made meanwhile gives 409 instead of
being overwritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from task_assistant.tasks.models import (
    NOTES_MAX_CHARS,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    TASK_TITLE_MAX_CHARS,
    AmbiguousTaskError,
    Task,
    TaskConflictError,
    TaskError,
    TaskNotFoundError,
    TaskValidationError,
    short_id,
)
from task_assistant.tasks.service import SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, SEARCH_QUERY_MAX_CHARS
from task_assistant.web.deps import Caller, ServicesDep, SettingsDep
from task_assistant.web.errors import ApiError, BadRequest, Conflict, NotFound

router = APIRouter(prefix="/tasks", tags=["tasks"])


class TaskOut(BaseModel):
    """One task."""

    id: str = Field(description="Task id (a ULID).")
    title: str
    notes: str | None = None
    completed: bool
    status: Literal["pending", "completed"]
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Change counter; send as If-Match or expected_version.")

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls(**task.model_dump(), status=task.status)


class TaskListOut(BaseModel):
    """A page of tasks, newest first."""

    tasks: list[TaskOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")


class TaskCreate(BaseModel):
    """A new task."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TASK_TITLE_MAX_CHARS)
    notes: str | None = Field(None, max_length=NOTES_MAX_CHARS)


class TaskUpdate(BaseModel):
    """Changes to a task; omitted fields stay as they are. Empty ``notes`` clears the notes."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=TASK_TITLE_MAX_CHARS)
    notes: str | None = Field(None, max_length=NOTES_MAX_CHARS)
    expected_version: int | None = Field(
        None, ge=1, description="Fail with 409 unless the task is at this version."
    )


class TaskEntity(BaseModel):
    """A task as the ChatKit widget's ``Entity``: what an @-mention in the composer picks."""

    id: str = Field(description="Task id; the widget sends it back as the tag's id.")
    title: str = Field(description="Shown in the picker and in the tag.")
    group: Literal["Pending", "Done"] = Field(description="The picker groups tasks by it.")
    icon: Literal["empty-circle", "check-circle"]
    interactive: bool = Field(True, description="The tag can be previewed (the page's onRequestPreview).")
    data: dict[str, str] = Field(description='`{"status", "short_id"}`, passed back with the tag.')

    @classmethod
    def of(cls, task: Task) -> TaskEntity:
        return cls(
            id=task.id,
            title=task.title,
            group="Done" if task.completed else "Pending",
            icon="check-circle" if task.completed else "empty-circle",
            data={"status": task.status, "short_id": short_id(task.id)},
        )


class TaskSearchOut(BaseModel):
    """Matching tasks, best first: titles starting with the query, then pending before done, then newest."""

    entities: list[TaskEntity]


class TaskDeleted(BaseModel):
    """The task as it was when deleted."""

    deleted: TaskOut


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The task version the change is based on, as returned in ETag (e.g. "3").',
    ),
]
TaskId = Annotated[str, Path(description="Task id.", max_length=64)]


def _parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() in ("", "*"):
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 12:
        raise BadRequest('If-Match must be a task version as sent in ETag, e.g. "3"')
    return int(raw)


def _expected(if_match: str | None, body_version: int | None = None) -> int | None:
    header_version = _parse_if_match(if_match)
    if header_version is not None and body_version is not None and header_version != body_version:
        raise BadRequest("If-Match and expected_version disagree")
    return body_version if body_version is not None else header_version


def _api_error(exc: TaskError) -> ApiError:
    if isinstance(exc, TaskNotFoundError):
        return NotFound("task not found")
    if isinstance(exc, TaskValidationError):
        return BadRequest(exc.message, details=[{"loc": [exc.field], "msg": exc.reason}])
    if isinstance(exc, TaskConflictError | AmbiguousTaskError):
        return Conflict(exc.message)
    return BadRequest(exc.message)


def _one(task: Task, response: Response) -> TaskOut:
    response.headers["ETag"] = f'"{task.version}"'
    return TaskOut.of(task)


_ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input (the error names the field)."},
    401: {"description": "Missing or invalid token."},
    429: {"description": "Rate limit exceeded (see Retry-After)."},
    503: {"description": "A dependency is busy or unreachable, or the deadline passed (see Retry-After)."},
}
_ONE_ERRORS: dict[int | str, dict[str, str]] = {
    **_ERRORS,
    404: {"description": "No such task for this user."},
    409: {"description": "The task changed since the given version."},
}


@router.get("", response_model=TaskListOut, responses=_ERRORS, summary="List tasks, newest first")
async def list_tasks(
    caller: Caller,
    services: ServicesDep,
    settings: SettingsDep,
    status: Annotated[Literal["all", "pending", "completed"], Query(description="Which tasks.")] = "all",
    limit: Annotated[int, Query(ge=1, description="Page size; values above the cap are lowered.")] = (
        PAGE_SIZE_DEFAULT
    ),
    cursor: Annotated[
        str | None, Query(max_length=2048, description="next_cursor of the previous page.")
    ] = None,
) -> TaskListOut:
    limit = min(limit, settings.page_size_cap, PAGE_SIZE_MAX)
    try:
        page = await (await services.tasks()).list(caller, status=status, limit=limit, cursor=cursor)
    except TaskError as exc:
        raise _api_error(exc) from None
    return TaskListOut(tasks=[TaskOut.of(t) for t in page.tasks], next_cursor=page.next_cursor)


@router.get(
    "/search", response_model=TaskSearchOut, responses=_ERRORS, summary="Find tasks by title (@-mentions)"
)
async def search_tasks(
    caller: Caller,
    services: ServicesDep,
    q: Annotated[
        str,
        Query(
            max_length=SEARCH_QUERY_MAX_CHARS,
            description="Part of a title, any case; empty lists the best candidates.",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, description="At most this many; values above the cap are lowered.")] = (
        SEARCH_LIMIT_DEFAULT
    ),
) -> TaskSearchOut:
    try:
        found = await (await services.tasks()).search(caller, q, min(limit, SEARCH_LIMIT_MAX))
    except TaskError as exc:
        raise _api_error(exc) from None
    return TaskSearchOut(entities=[TaskEntity.of(t) for t in found])


@router.post("", status_code=201, response_model=TaskOut, responses=_ERRORS, summary="Add a task")
async def create_task(body: TaskCreate, caller: Caller, services: ServicesDep, response: Response) -> TaskOut:
    try:
        task = await (await services.tasks()).add(caller, body.title, body.notes)
    except TaskError as exc:
        raise _api_error(exc) from None
    response.headers["Location"] = f"/tasks/{task.id}"
    return _one(task, response)


@router.get("/{task_id}", response_model=TaskOut, responses=_ONE_ERRORS, summary="Get a task")
async def get_task(task_id: TaskId, caller: Caller, services: ServicesDep, response: Response) -> TaskOut:
    try:
        return _one(await (await services.tasks()).get(caller, task_id), response)
    except TaskError as exc:
        raise _api_error(exc) from None


@router.patch("/{task_id}", response_model=TaskOut, responses=_ONE_ERRORS, summary="Change title or notes")
async def update_task(
    task_id: TaskId,
    body: TaskUpdate,
    caller: Caller,
    services: ServicesDep,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    expected = _expected(if_match, body.expected_version)
    try:
        task = await (await services.tasks()).update(
            caller, task_id, title=body.title, notes=body.notes, expected_version=expected
        )
    except TaskError as exc:
        raise _api_error(exc) from None
    return _one(task, response)


@router.post("/{task_id}/complete", response_model=TaskOut, responses=_ONE_ERRORS, summary="Mark done")
async def complete_task(
    task_id: TaskId, caller: Caller, services: ServicesDep, response: Response, if_match: IfMatch = None
) -> TaskOut:
    try:
        task = await (await services.tasks()).complete(caller, task_id, expected_version=_expected(if_match))
    except TaskError as exc:
        raise _api_error(exc) from None
    return _one(task, response)


@router.post("/{task_id}/reopen", response_model=TaskOut, responses=_ONE_ERRORS, summary="Mark pending")
async def reopen_task(
    task_id: TaskId, caller: Caller, services: ServicesDep, response: Response, if_match: IfMatch = None
) -> TaskOut:
    try:
        task = await (await services.tasks()).reopen(caller, task_id, expected_version=_expected(if_match))
    except TaskError as exc:
        raise _api_error(exc) from None
    return _one(task, response)


@router.delete("/{task_id}", response_model=TaskDeleted, responses=_ONE_ERRORS, summary="Delete a task")
async def delete_task(
    task_id: TaskId, caller: Caller, services: ServicesDep, if_match: IfMatch = None
) -> TaskDeleted:
    try:
        task = await (await services.tasks()).delete(caller, task_id, expected_version=_expected(if_match))
    except TaskError as exc:
        raise _api_error(exc) from None
    return TaskDeleted(deleted=TaskOut.of(task))

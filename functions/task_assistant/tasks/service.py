"""The one task service: used by the MCP tools (and so by the agent) and by the REST API alike.

Every method takes the verified :class:`~task_assistant.context.RequestContext` first and acts only in
that user's partition; nothing here accepts a user id from anywhere else.

Concurrency: every change is a conditional write at a version. Callers may pass ``expected_version``
(the version they showed the user); when they do not, the service reads the current version and writes
conditionally on it, so of two concurrent changes to one task exactly one wins and the other gets
:class:`TaskConflictError` -- never a silently lost update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from ulid import LaxMonotonicPolicy, ULIDGenerator

from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client
from task_assistant.tasks.models import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    AmbiguousTaskError,
    NewTask,
    Task,
    TaskChanges,
    TaskFilter,
    TaskNotFoundError,
    TaskPage,
    TaskValidationError,
    looks_like_task_id,
    short_id_of,
    validate_input,
)
from task_assistant.tasks.repository import TaskRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RECENT_MAX_TASKS = 500
"""Resolving a title or short id, and searching titles, look at the user's newest this-many tasks: one
bounded Query of the user's partition (a few pages at most), never a Scan."""
SEARCH_LIMIT_DEFAULT = 10
SEARCH_LIMIT_MAX = 50
SEARCH_QUERY_MAX_CHARS = 200

# Monotonic within one process: two tasks added in the same millisecond still sort newest first.
_ids = ULIDGenerator(policy=LaxMonotonicPolicy())


def new_task_id() -> str:
    """A fresh task id (ULID): unique, and sorting by id sorts by creation time."""
    return str(_ids.generate())


class TaskService:
    """Add, list, change and delete one user's tasks (see the module docstring for the rules)."""

    def __init__(self, settings: Settings, *, dynamodb: DynamoDBClient | None = None) -> None:
        self._repo = TaskRepository(dynamodb or dynamodb_client(settings), settings.tasks_table_name)

    async def add(self, context: RequestContext, title: str, notes: str | None = None) -> Task:
        """Create a task. ``title`` is trimmed (1-500 characters); ``notes`` up to 5,000 characters."""
        data = validate_input(NewTask, {"title": title, "notes": notes})
        now = datetime.now(UTC)
        task = Task(
            id=new_task_id(),
            title=data.title,
            notes=data.notes,
            completed=False,
            created_at=now,
            updated_at=now,
            version=1,
        )
        return await self._repo.create(context.user_id, task)

    async def list(
        self,
        context: RequestContext,
        status: TaskFilter = "all",
        limit: int = PAGE_SIZE_DEFAULT,
        cursor: str | None = None,
    ) -> TaskPage:
        """One page of tasks, newest first; pass ``next_cursor`` back for the next page."""
        if status not in ("all", "pending", "completed"):
            raise TaskValidationError("status", "must be one of 'all', 'pending', 'completed'")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_SIZE_MAX:
            raise TaskValidationError("limit", f"must be a whole number from 1 to {PAGE_SIZE_MAX}")
        tasks, next_cursor = await self._repo.query(context.user_id, status, limit, cursor or None)
        return TaskPage(tasks=tasks, next_cursor=next_cursor)

    async def get(self, context: RequestContext, task_id: str) -> Task:
        """The task with this id; :class:`TaskNotFoundError` if this user has none."""
        task_id = _clean_id(task_id)
        task = await self._repo.get(context.user_id, task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    async def update(
        self,
        context: RequestContext,
        task_id: str,
        *,
        title: str | None = None,
        notes: str | None = None,
        expected_version: int | None = None,
    ) -> Task:
        """Change the title and/or notes (blank notes clear them)."""
        changes = TaskChanges.parse(title=title, notes=notes)
        task_id = _clean_id(task_id)
        version = await self._version(context, task_id, expected_version)
        return await self._repo.update(
            context.user_id,
            task_id,
            version,
            title=changes.title,
            notes=changes.notes,
            clear_notes=changes.clear_notes,
        )

    async def complete(
        self, context: RequestContext, task_id: str, expected_version: int | None = None
    ) -> Task:
        """Mark the task done. Completing a completed task changes nothing and returns it."""
        return await self._set_completed(context, task_id, True, expected_version)

    async def reopen(
        self, context: RequestContext, task_id: str, expected_version: int | None = None
    ) -> Task:
        """Mark the task pending again. Reopening a pending task changes nothing and returns it."""
        return await self._set_completed(context, task_id, False, expected_version)

    async def delete(
        self, context: RequestContext, task_id: str, expected_version: int | None = None
    ) -> Task:
        """Delete the task; returns it as it was."""
        task_id = _clean_id(task_id)
        version = await self._version(context, task_id, expected_version)
        return await self._repo.delete(context.user_id, task_id, version)

    async def resolve(
        self,
        context: RequestContext,
        ref: str,
        *,
        prefer: Literal["pending", "completed"] | None = None,
    ) -> Task:
        """The task ``ref`` names: a task id, a short id ("#x7k2", see :func:`.models.short_id`), or a
        title that identifies exactly one task.

        Title matching is case-insensitive: an exact title match wins over substring matches, and a
        substring match must be unique. Several matches raise :class:`AmbiguousTaskError` listing them --
        unless ``prefer`` narrows them to one (``complete`` prefers a pending task named so, ``reopen`` a
        completed one). No match raises :class:`TaskNotFoundError`.

        Bounded cost: short ids and titles are searched among the user's newest ``RECENT_MAX_TASKS``
        (500) tasks.
        """
        if not isinstance(ref, str) or not ref.strip():
            raise TaskValidationError("task", "give a task id or title")
        wanted = ref.strip()
        if looks_like_task_id(wanted):
            found = await self._repo.get(context.user_id, wanted.upper())
            if found is not None:
                return found

        tasks, cursor = await self._repo.query(context.user_id, "all", RECENT_MAX_TASKS, None)
        truncated = cursor is not None

        needle = wanted.casefold()
        tail = short_id_of(wanted)
        by_short_id = [t for t in tasks if tail is not None and t.id.endswith(tail)]
        exact = [t for t in tasks if t.title.casefold() == needle]
        partial = [t for t in tasks if needle in t.title.casefold()]
        for matches in (by_short_id, exact, partial):
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                preferred = [t for t in matches if prefer is not None and t.status == prefer]
                if len(preferred) == 1:
                    return preferred[0]
                raise AmbiguousTaskError(wanted, matches)
        scope = f" among your newest {len(tasks)} tasks" if truncated else ""
        raise TaskNotFoundError(wanted, f"No task has the id or a title matching {wanted!r}{scope}.")

    async def search(
        self, context: RequestContext, query: str, limit: int = SEARCH_LIMIT_DEFAULT
    ) -> Sequence[Task]:
        """Tasks whose title contains ``query`` (case-insensitive; blank: any task), best match first.

        For an @-mention picker: titles starting with the query first, then titles with a word starting
        with it, then the rest; pending before done within each; newest first after that. Bounded: the
        user's newest ``RECENT_MAX_TASKS`` tasks are looked at (one Query of their partition).
        """
        if not isinstance(query, str) or len(query) > SEARCH_QUERY_MAX_CHARS:
            raise TaskValidationError("q", f"must be at most {SEARCH_QUERY_MAX_CHARS} characters")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise TaskValidationError("limit", f"must be a whole number from 1 to {SEARCH_LIMIT_MAX}")
        needle = " ".join(query.split()).casefold()
        tasks, _ = await self._repo.query(context.user_id, "all", RECENT_MAX_TASKS, None)

        def rank(task: Task) -> tuple[int, bool]:
            title = " ".join(task.title.split()).casefold()
            where = 0 if title.startswith(needle) else 1 if f" {needle}" in f" {title}" else 2
            return where, task.completed

        matches = [t for t in tasks if needle in " ".join(t.title.split()).casefold()]
        return sorted(matches, key=rank)[:limit]  # sorted() is stable: newest first within a rank

    # -- helpers ----------------------------------------------------------------------------------

    async def _set_completed(
        self, context: RequestContext, task_id: str, completed: bool, expected_version: int | None
    ) -> Task:
        task_id = _clean_id(task_id)
        if expected_version is None:
            current = await self.get(context, task_id)
            if current.completed == completed:
                return current  # already in that state: idempotent, nothing written
            expected_version = current.version
        else:
            _check_version(expected_version)
        return await self._repo.update(context.user_id, task_id, expected_version, completed=completed)

    async def _version(self, context: RequestContext, task_id: str, expected_version: int | None) -> int:
        if expected_version is not None:
            _check_version(expected_version)
            return expected_version
        return (await self.get(context, task_id)).version


def _clean_id(task_id: str) -> str:
    if not isinstance(task_id, str) or not looks_like_task_id(task_id):
        raise TaskValidationError("task_id", "is not a task id (26 characters, as returned when listing)")
    return task_id.strip().upper()


def _check_version(version: int) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TaskValidationError("expected_version", "must be a whole number of at least 1")

"""Task domain types: the stored task, a page of tasks, validated inputs and the errors of the service.

Every error raised by :class:`~task_assistant.tasks.service.TaskService` is a :class:`TaskError`; its
message is written for the person (or model) who sent the input, never a stack trace. The HTTP layer maps
them to status codes (validation 400/422, not found 404, conflict 409, ambiguous 409 or 422) and the MCP
server to tool errors.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TASK_TITLE_MAX_CHARS = 500
NOTES_MAX_CHARS = 5_000
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100

M = TypeVar("M", bound="BaseModel")

TaskStatus = Literal["pending", "completed"]
"""The state of one task."""

TaskFilter = Literal["all", "pending", "completed"]
"""Which tasks a listing returns."""

# Crockford base32, 26 characters, first character 0-7 (48-bit timestamp): the shape of a ULID.
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def looks_like_task_id(value: str) -> bool:
    """True when ``value`` has the shape of a task id (a ULID, case-insensitive)."""
    return bool(_ULID_RE.match(value.strip().upper()))


SHORT_ID_CHARS = 4
_SHORT_ID_RE = re.compile(rf"^#([0-9A-HJKMNP-TV-Z]{{{SHORT_ID_CHARS}}})$")


def short_id(task_id: str) -> str:
    """How people tell tasks of the same title apart: ``#`` and the id's last four characters ("#x7k2").

    They are random bits of the ULID, so two of one user's tasks rarely share them; when they do, naming
    the short id is answered like an ambiguous title.
    """
    return "#" + task_id.strip()[-SHORT_ID_CHARS:].lower()


def short_id_of(ref: str) -> str | None:
    """The id ending a short id names (``"#x7k2"`` -> ``"X7K2"``), or None if ``ref`` is not one."""
    match = _SHORT_ID_RE.match(ref.strip().upper())
    return match[1] if match else None


class Task(BaseModel):
    """One task as stored. ``version`` starts at 1 and grows by one with every change."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Task id (a ULID: sortable by creation time).")
    title: str = Field(description="What to do (1 to 500 characters).")
    notes: str | None = Field(None, description="Optional details (up to 5,000 characters).")
    completed: bool = Field(False, description="Whether the task is done.")
    created_at: datetime = Field(description="When the task was added (UTC).")
    updated_at: datetime = Field(description="When the task last changed (UTC).")
    version: int = Field(ge=1, description="Change counter for conditional updates.")

    @property
    def status(self) -> TaskStatus:
        return "completed" if self.completed else "pending"


class TaskPage(BaseModel):
    """One page of a listing, newest first. ``next_cursor`` is None on the last page."""

    model_config = ConfigDict(frozen=True)

    tasks: list[Task]
    next_cursor: str | None = Field(
        None, description="Opaque cursor for the next page; absent when this is the last page."
    )


def _clean_title(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    return value


def _clean_notes(value: object) -> object:
    # Notes are free text: keep inner whitespace, drop surrounding blanks; blank notes mean "no notes".
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


class NewTask(BaseModel):
    """Input of ``add``: the title is trimmed and must keep 1 to 500 characters; notes up to 5,000."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TASK_TITLE_MAX_CHARS)
    notes: str | None = Field(None, max_length=NOTES_MAX_CHARS)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: object) -> object:
        return _clean_title(value)

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: object) -> object:
        return _clean_notes(value)


class TaskChanges(BaseModel):
    """Input of ``update``: fields left as None are unchanged; blank notes clear the notes."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=TASK_TITLE_MAX_CHARS)
    notes: str | None = Field(None, max_length=NOTES_MAX_CHARS)
    clear_notes: bool = False

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: object) -> object:
        return _clean_title(value)

    @classmethod
    def parse(cls, *, title: str | None, notes: str | None) -> TaskChanges:
        """Validate an update; raises :class:`TaskValidationError` naming the field."""
        if title is None and notes is None:
            raise TaskValidationError("title", "nothing to change: give a new title or new notes")
        cleaned_notes = _clean_notes(notes) if notes is not None else None
        return validate_input(
            cls,
            {
                "title": title,
                "notes": cleaned_notes,
                "clear_notes": notes is not None and cleaned_notes is None,
            },
        )


class TaskError(Exception):
    """Base of every task error; ``str(error)`` is a message fit to show the caller."""

    code: str = "task_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (``code`` and ``message`` plus subclass details)."""
        return {"code": self.code, "message": self.message}


class TaskValidationError(TaskError):
    """An input failed validation; ``field`` names it (``title``, ``notes``, ``limit``, ``cursor``...)."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field}


class TaskNotFoundError(TaskError):
    """No such task for this user (another user's task looks exactly like a missing one)."""

    code = "not_found"

    def __init__(self, ref: str, message: str | None = None) -> None:
        super().__init__(message or f"No task found for {ref!r}.")
        self.ref = ref


class TaskConflictError(TaskError):
    """The task changed since the version the caller acted on; re-read it and try again."""

    code = "conflict"

    def __init__(self, task_id: str, expected_version: int, current: Task | None = None) -> None:
        now = f" (it is now at version {current.version})" if current is not None else ""
        super().__init__(
            f"Task {task_id} was changed by someone else since version {expected_version}{now}; "
            "read it again and retry."
        )
        self.task_id = task_id
        self.expected_version = expected_version
        self.current = current

    def to_dict(self) -> dict[str, Any]:
        out = {**super().to_dict(), "task_id": self.task_id, "expected_version": self.expected_version}
        if self.current is not None:
            out["current_version"] = self.current.version
        return out


class AmbiguousTaskError(TaskError):
    """A title matched several tasks; ``candidates`` lists them so the caller can pick one.

    The message and :meth:`to_dict` show the first ``MAX_LISTED`` candidates (newest first), one per line
    with its short id, state and id, and say how many more there are, so a vague title ("a") cannot
    produce an unbounded reply. Titles may be equal, so the message asks for a short id, never "the full
    title". :func:`candidates_in` reads the lines back.
    """

    code = "ambiguous_task"
    MAX_LISTED = 10

    def __init__(self, ref: str, candidates: list[Task]) -> None:
        shown = candidates[: self.MAX_LISTED]
        listed = "".join(f"\n{candidate_line(t)}" for t in shown)
        more = f"\n(and {len(candidates) - len(shown)} more)" if len(candidates) > len(shown) else ""
        super().__init__(
            f"{ref!r} matches {len(candidates)} tasks:{listed}{more}\n"
            f"Ask which one is meant; the user can name it by its short id (such as {short_id(shown[0].id)})."
        )
        self.ref = ref
        self.candidates = candidates

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "candidates": [
                {"id": t.id, "title": t.title, "completed": t.completed, "version": t.version}
                for t in self.candidates[: self.MAX_LISTED]
            ],
            "total_candidates": len(self.candidates),
        }


_CANDIDATE = re.compile(
    r"^- (?P<title>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") "
    r"\(#\w+, (?P<status>pending|completed), id (?P<id>[0-9A-Z]+)\)$",
    re.MULTILINE,
)


def candidate_line(task: Task) -> str:
    """One candidate of an ambiguous reference: ``- 'Buy milk' (#x7k2, pending, id 01JD…)``."""
    return f"- {' '.join(task.title.split())!r} ({short_id(task.id)}, {task.status}, id {task.id})"


def candidates_in(text: str) -> list[tuple[str, str, bool]]:
    """The candidates an :class:`AmbiguousTaskError` message lists: (id, title, completed), in order."""
    return [
        (m["id"], str(ast.literal_eval(m["title"])), m["status"] == "completed")
        for m in _CANDIDATE.finditer(text)
    ]


def validate_input(model: type[M], data: dict[str, Any]) -> M:
    """Validate ``data`` as ``model``; the first problem becomes a :class:`TaskValidationError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or model.__name__
        raise TaskValidationError(field, _friendly(first)) from None


def _friendly(error: Any) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"needs at least {ctx['min_length']} characters"
        )
    if kind == "string_too_long":
        return f"is too long (at most {ctx['max_length']:,} characters)"
    if kind == "string_type":
        return "must be text"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    return str(error.get("msg", "is invalid"))

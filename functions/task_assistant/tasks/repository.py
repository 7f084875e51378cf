"""DynamoDB access for the tasks table (keys from :data:`task_assistant.storage.tables.TASKS_TABLE`).

Item layout (one partition per user, so isolation is structural: every request names the user's key)::

    pk         user id
    sk         task id (ULID: newest first is descending key order)
    status_pk  "<user>#pending" | "<user>#completed"   (key of the ``by_status`` GSI, sort key ``sk``)
    title, notes?, completed, created_at, updated_at (ISO 8601 UTC), version (number)

Every write is conditional: a create must not overwrite (``attribute_not_exists``), and an update or
delete must find the item at the version the caller read (``version = :expected``). A failed condition
returns the current item (``ReturnValuesOnConditionCheckFailure=ALL_OLD``), which tells "missing" (no item)
from "changed meanwhile" (an item at another version) without a second read.

Listings are Queries (never Scans), newest first, and always return full pages: the repository keeps
querying until it has ``limit`` items or the partition ends, and it looks one item ahead so the cursor is
only returned when another page really exists. Every boto3 call runs through
:func:`task_assistant.storage.clients.run_sync`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from task_assistant.storage.clients import run_sync
from task_assistant.storage.tables import TASKS_BY_STATUS
from task_assistant.tasks.models import (
    Task,
    TaskConflictError,
    TaskFilter,
    TaskNotFoundError,
    TaskValidationError,
    looks_like_task_id,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUS_INDEX = TASKS_BY_STATUS


class TaskRepository:
    """Conditional reads and writes of one user's tasks; raises the errors of :mod:`.models`."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._ddb = client
        self._table = table_name

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, user_id: str, task_id: str) -> Task | None:
        """The task, read consistently, or None when this user has no such task."""
        out = await run_sync(
            self._ddb.get_item,
            TableName=self._table,
            Key=_key(user_id, task_id),
            ConsistentRead=True,
        )
        item = out.get("Item")
        return _to_task(item) if item else None

    async def query(
        self, user_id: str, status: TaskFilter, limit: int, cursor: str | None
    ) -> tuple[list[Task], str | None]:
        """Up to ``limit`` tasks newest first, and the cursor of the next page (None on the last page).

        ``all`` queries the table's partition; ``pending``/``completed`` query the ``by_status`` GSI
        (eventually consistent in AWS: a task changed a moment ago may still show its old state there).
        """
        after_sk = decode_cursor(cursor, status) if cursor else None
        params: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": False}
        if status == "all":
            params["KeyConditionExpression"] = "pk = :p"
            params["ExpressionAttributeValues"] = {":p": {"S": user_id}}
            params["ConsistentRead"] = True
        else:
            params["IndexName"] = STATUS_INDEX
            params["KeyConditionExpression"] = "status_pk = :p"
            params["ExpressionAttributeValues"] = {":p": {"S": _status_pk(user_id, status == "completed")}}

        start_key: dict[str, Any] | None = None
        if after_sk is not None:
            start_key = _key(user_id, after_sk)
            if status != "all":
                start_key["status_pk"] = {"S": _status_pk(user_id, status == "completed")}

        # One item beyond the page tells whether a next page exists (no trailing empty page).
        wanted = limit + 1
        items: list[dict[str, Any]] = []
        while len(items) < wanted:
            page_params = dict(params, Limit=wanted - len(items))
            if start_key is not None:
                page_params["ExclusiveStartKey"] = start_key
            out = await run_sync(self._ddb.query, **page_params)
            items.extend(out.get("Items", []))
            start_key = out.get("LastEvaluatedKey")
            if not start_key:
                break  # the partition (or index partition) is exhausted

        tasks = [_to_task(item) for item in items[:limit]]
        next_cursor = encode_cursor(tasks[-1].id, status) if len(items) > limit and tasks else None
        return tasks, next_cursor

    # -- writes -----------------------------------------------------------------------------------

    async def create(self, user_id: str, task: Task) -> Task:
        """Store a new task; never overwrites (a duplicate id is a conflict)."""
        try:
            await run_sync(
                self._ddb.put_item,
                TableName=self._table,
                Item=_to_item(user_id, task),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise TaskConflictError(task.id, 0) from None
            raise
        return task

    async def update(
        self,
        user_id: str,
        task_id: str,
        expected_version: int,
        *,
        title: str | None = None,
        notes: str | None = None,
        clear_notes: bool = False,
        completed: bool | None = None,
        now: datetime | None = None,
    ) -> Task:
        """Apply changes if the task is still at ``expected_version``; returns the new state."""
        stamp = _iso(now or datetime.now(UTC))
        sets = ["updated_at = :now", "#v = :next"]
        removes: list[str] = []
        values: dict[str, Any] = {
            ":now": {"S": stamp},
            ":next": {"N": str(expected_version + 1)},
            ":expected": {"N": str(expected_version)},
        }
        names: dict[str, str] = {"#v": "version"}
        if title is not None:
            sets.append("title = :title")
            values[":title"] = {"S": title}
        if notes is not None:
            sets.append("notes = :notes")
            values[":notes"] = {"S": notes}
        elif clear_notes:
            removes.append("notes")
        if completed is not None:
            sets += ["completed = :completed", "status_pk = :status_pk"]
            values[":completed"] = {"BOOL": completed}
            values[":status_pk"] = {"S": _status_pk(user_id, completed)}
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        try:
            out = await run_sync(
                self._ddb.update_item,
                TableName=self._table,
                Key=_key(user_id, task_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND #v = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise _condition_error(exc, task_id, expected_version) from None
            raise
        return _to_task(out["Attributes"])

    async def delete(self, user_id: str, task_id: str, expected_version: int) -> Task:
        """Delete the task if it is still at ``expected_version``; returns what was deleted."""
        try:
            out = await run_sync(
                self._ddb.delete_item,
                TableName=self._table,
                Key=_key(user_id, task_id),
                ConditionExpression="attribute_exists(pk) AND #v = :expected",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise _condition_error(exc, task_id, expected_version) from None
            raise
        return _to_task(out["Attributes"])


# -- cursors ----------------------------------------------------------------------------------------


def encode_cursor(last_task_id: str, status: TaskFilter) -> str:
    """An opaque cursor: base64url of the last returned key (task id) and the filter it belongs to.

    The user is deliberately not in the cursor: the key is rebuilt from the verified caller, so a cursor
    can never point into another user's partition.
    """
    raw = json.dumps({"sk": last_task_id, "f": status}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, status: TaskFilter) -> str:
    """The task id a cursor continues after; rejects cursors from another filter or not ours at all."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        sk, kind = data["sk"], data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        # RecursionError: json.loads recurses per nesting level, and a forged cursor can nest thousands deep.
        raise TaskValidationError("cursor", "is not a cursor returned by a previous listing") from None
    if not isinstance(sk, str) or not looks_like_task_id(sk) or not isinstance(kind, str):
        raise TaskValidationError("cursor", "is not a cursor returned by a previous listing")
    if kind != status:
        raise TaskValidationError("cursor", f"belongs to a {kind!r} listing, not {status!r}")
    return sk


# -- item mapping -----------------------------------------------------------------------------------


def _status_pk(user_id: str, completed: bool) -> str:
    return f"{user_id}#{'completed' if completed else 'pending'}"


def _key(user_id: str, task_id: str) -> dict[str, Any]:
    return {"pk": {"S": user_id}, "sk": {"S": task_id}}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _to_item(user_id: str, task: Task) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(user_id, task.id),
        "status_pk": {"S": _status_pk(user_id, task.completed)},
        "title": {"S": task.title},
        "completed": {"BOOL": task.completed},
        "created_at": {"S": _iso(task.created_at)},
        "updated_at": {"S": _iso(task.updated_at)},
        "version": {"N": str(task.version)},
    }
    if task.notes is not None:
        item["notes"] = {"S": task.notes}
    return item


def _to_task(item: dict[str, Any]) -> Task:
    return Task(
        id=item["sk"]["S"],
        title=item["title"]["S"],
        notes=item["notes"]["S"] if "notes" in item else None,
        completed=item["completed"]["BOOL"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        version=int(item["version"]["N"]),
    )


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _condition_error(exc: ClientError, task_id: str, expected_version: int) -> Exception:
    """Not found when no item came back with the failure, conflict when one did (at another version)."""
    current: dict[str, Any] | None = cast(dict[str, Any], exc.response).get("Item")
    if not current:
        return TaskNotFoundError(task_id)
    return TaskConflictError(task_id, expected_version, _to_task(current))

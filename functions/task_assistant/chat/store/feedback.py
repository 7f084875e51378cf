"""Thumbs up / down on thread items, kept in the chat table next to the items they judge.

One row per item (``FEEDBACK#<item>`` in the thread's partition, see :mod:`.keys`): who gave it, when, and
``positive`` or ``negative``; giving feedback again replaces it (the widget lets a user change their mind).
The thread's deletion removes its feedback with the rest of the partition, an item's deletion (a retry)
removes that item's feedback, and rows get the chat TTL like every chat row. Rows are plain attributes,
so an operator can read them with a ``Query`` (see docs/store.md). Reads are one bounded ``Query``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

from chatkit.types import Page
from pydantic import BaseModel

from task_assistant.chat.store.keys import (
    FEEDBACK_PREFIX,
    Row,
    feedback_key,
    require_id,
    str_value,
    thread_pk,
)
from task_assistant.chat.store.table import BATCH_WRITE_MAX, ChatRows
from task_assistant.context import RequestContext
from task_assistant.storage.tables import CHAT_PK, CHAT_SK

FeedbackKind = Literal["positive", "negative"]

#: The first sort key after every ``FEEDBACK#...`` key (``$`` follows ``#``): the upper bound of a page.
_AFTER_LAST_FEEDBACK: Final = FEEDBACK_PREFIX[:-1] + "$"


class Feedback(BaseModel):
    """One user's judgement of one item."""

    item_id: str
    kind: FeedbackKind
    user_id: str
    created_at: datetime
    """When it was given (UTC)."""


class FeedbackStore:
    """Feedback rows of the chat table (``rows`` is the chat store's :class:`ChatRows`)."""

    def __init__(self, rows: ChatRows, *, page_size_cap: int) -> None:
        self.rows = rows
        self.page_size_cap = page_size_cap

    async def save(
        self,
        thread_id: str,
        item_ids: Sequence[str],
        kind: FeedbackKind,
        context: RequestContext,
        *,
        at: datetime | None = None,
    ) -> list[Feedback]:
        """Record ``kind`` on each item for ``context``'s user (replacing earlier feedback on it).

        The caller has checked that the thread and items are the user's (the HTTP gate does).
        """
        require_id(thread_id, "thread id")
        given = (at or datetime.now(UTC)).astimezone(UTC)
        records = [
            Feedback(item_id=item_id, kind=kind, user_id=context.user_id, created_at=given)
            for item_id in dict.fromkeys(item_ids)
        ]
        for record in records:
            require_id(record.item_id, "item id")
        requests: list[Any] = [
            {"PutRequest": {"Item": self._row(thread_id, record, context)}} for record in records
        ]
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            await self.rows.batch_write(requests[start : start + BATCH_WRITE_MAX])
        return records

    async def load(
        self, thread_id: str, context: RequestContext, *, limit: int, after: str | None = None
    ) -> Page[Feedback]:
        """A page of the thread's feedback in item id order; ``after`` is an item id (exclusive).

        A thread that is missing or not the caller's has none.
        """
        limit = max(1, min(limit, self.page_size_cap))
        values: Row = {":pk": str_value(thread_pk(context.user_id, thread_id))}
        if after is None:
            condition = "#pk = :pk AND begins_with(#sk, :prefix)"
            values[":prefix"] = str_value(FEEDBACK_PREFIX)
        else:
            # BETWEEN is inclusive: the cursor's own row, if it is still there, is skipped below.
            condition = "#pk = :pk AND #sk BETWEEN :from AND :to"
            values[":from"] = str_value(FEEDBACK_PREFIX + after)
            values[":to"] = str_value(_AFTER_LAST_FEEDBACK)
        rows = await self.rows.query(
            {
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": {"#pk": CHAT_PK, "#sk": CHAT_SK},
                "ExpressionAttributeValues": values,
                "ConsistentRead": True,
            },
            want=limit + 1 + (after is not None),
        )
        if after is not None and rows and rows[0][CHAT_SK]["S"] == FEEDBACK_PREFIX + after:
            rows = rows[1:]
        records = [self._record(row) for row in rows[:limit]]
        has_more = len(rows) > limit
        return Page(data=records, has_more=has_more, after=records[-1].item_id if has_more else None)

    def _row(self, thread_id: str, record: Feedback, context: RequestContext) -> Row:
        return {
            **feedback_key(context.user_id, thread_id, record.item_id),
            "kind": str_value("feedback"),
            "item_id": str_value(record.item_id),
            "feedback": str_value(record.kind),
            "user_id": str_value(record.user_id),
            "created_at": str_value(record.created_at.isoformat().replace("+00:00", "Z")),
            **self.rows.expiry(),
        }

    @staticmethod
    def _record(row: Row) -> Feedback:
        return Feedback(
            item_id=row["item_id"]["S"],
            kind=row["feedback"]["S"],
            user_id=row["user_id"]["S"],
            created_at=datetime.fromisoformat(row["created_at"]["S"].replace("Z", "+00:00")),
        )

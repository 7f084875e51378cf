"""Per-user request counters in the chat table: a fixed-window rate limit that holds across Lambdas.

One counter item per user and window (see :mod:`task_assistant.storage.tables`)::

    pk = RATE#<user>#<window start, epoch seconds>    sk = RATE    count (N)    expires_at (N, TTL)

Each request is one ``UpdateItem`` with ``ADD count :one`` (atomic, no read-modify-write), returning the
new count. The counter expires through the table's TTL a while after its window closes, so the table
does not accumulate them. A fixed window lets a burst of up to twice the limit straddle a window edge;
that is the accepted price of one write per request and no reads.

The check has a budget of its own, ``RATE_LIMIT_TIMEOUT_SECONDS`` (300 ms): a counter that cannot be
written in time must not hold the request, so :meth:`RateLimitStore.hit` raises ``TimeoutError`` and the
caller lets the request through (fails open). Its client makes a single attempt with connect and read
timeouts of 1 s (or the budget, if longer): a retry could never fit the budget, and those timeouts bound
the write left running behind.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, one_shot_config, run_sync
from task_assistant.storage.tables import CHAT_EXPIRES_AT, CHAT_PK, CHAT_SK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Counters outlive their window by this much before TTL may delete them (TTL deletion is lazy anyway).
_EXPIRY_GRACE_SECONDS = 300
# Least connect and read timeouts of the counter's own client: they bound the write left behind.
_CLIENT_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class RateDecision:
    """The outcome of counting one request."""

    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int
    """Seconds until the current window ends (meaningful when not allowed)."""


class RateLimitStore:
    """Fixed-window request counters per user, ``limit`` requests per ``window_seconds``."""

    def __init__(
        self,
        settings: Settings,
        *,
        limit: int | None = None,
        window_seconds: int = 60,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        timeout_seconds: float | None = None,
    ) -> None:
        self.table_name = settings.chat_table_name
        self.limit = settings.rate_limit_per_minute if limit is None else limit
        self.window_seconds = window_seconds
        self.timeout_seconds = (
            settings.rate_limit_timeout_seconds if timeout_seconds is None else timeout_seconds
        )
        client_timeout = max(_CLIENT_TIMEOUT_SECONDS, self.timeout_seconds)
        self._client = client or dynamodb_client(
            settings, config=one_shot_config(settings, timeout_seconds=client_timeout)
        )
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @staticmethod
    def key(user_id: str, window_start: int) -> dict[str, dict[str, str]]:
        """The counter item's primary key."""
        return {CHAT_PK: {"S": f"RATE#{user_id}#{window_start}"}, CHAT_SK: {"S": "RATE"}}

    async def hit(self, user_id: str) -> RateDecision:
        """Count one request by ``user_id`` in the current window and say whether it is allowed.

        Raises ``TimeoutError`` past ``timeout_seconds``, or the storage error: the caller decides to fail
        open.
        """
        now = self._clock()
        window_start = int(now // self.window_seconds) * self.window_seconds
        window_end = window_start + self.window_seconds
        if not self.enabled:
            return RateDecision(True, 0, self.limit, 0)
        async with asyncio.timeout(self.timeout_seconds):
            response = await run_sync(
                self._client.update_item,
                TableName=self.table_name,
                Key=self.key(user_id, window_start),
                UpdateExpression="ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                ExpressionAttributeNames={"#count": "count", "#expires": CHAT_EXPIRES_AT},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":expires": {"N": str(window_end + _EXPIRY_GRACE_SECONDS)},
                },
                ReturnValues="UPDATED_NEW",
            )
        count = int(response["Attributes"]["count"]["N"])
        retry_after = max(1, math.ceil(window_end - now))
        return RateDecision(count <= self.limit, count, self.limit, retry_after)

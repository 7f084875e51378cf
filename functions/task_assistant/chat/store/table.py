"""Table operations of the chat store: reads, writes, queries and batch deletes of rows with their bodies.

Every call goes through :func:`task_assistant.chat.store.failures.storage_call`, which runs the synchronous
boto3 call on a worker thread, so the async methods never block the event loop, and raises a busy or
unreachable service as :class:`~task_assistant.chat.store.failures.StorageBusyError`. boto3 clients are
thread-safe, and staying on boto3 (rather than aiobotocore) keeps one botocore for the app, Lambda and
CDK. Every read is a ``GetItem`` or a ``Query`` bounded by the caller's ``want``; nothing scans.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from task_assistant.chat.store.bodies import (
    decode_inline,
    decode_spilled,
    encode_body,
    spill_attributes,
    spilled_to,
)
from task_assistant.chat.store.failures import storage_call
from task_assistant.chat.store.keys import Row, str_value
from task_assistant.log import logger
from task_assistant.storage.tables import CHAT_EXPIRES_AT, CHAT_PK, CHAT_SK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


BATCH_WRITE_MAX: Final = 25
#: Rows per page when walking a whole partition (thread deletion).
PARTITION_PAGE: Final = 500
S3_DELETE_MAX: Final = 1000
#: A row attribute every write sets anew, so a conditional write can tell whether the row changed since
#: it was read (bodies may live in S3 under a fixed key, so comparing them would not tell).
REVISION: Final = "rev"


def _unchanged_since(seen: Row) -> Row:
    """``ConditionExpression`` arguments: the row is still the one ``seen`` (the same revision)."""
    if REVISION in seen:
        return {
            "ConditionExpression": "#rev = :rev",
            "ExpressionAttributeNames": {"#rev": REVISION},
            "ExpressionAttributeValues": {":rev": seen[REVISION]},
        }
    # A row written before revisions existed: unchanged only while it still has none (and exists).
    return {
        "ConditionExpression": "attribute_exists(#pk) AND attribute_not_exists(#rev)",
        "ExpressionAttributeNames": {"#pk": CHAT_PK, "#rev": REVISION},
    }


class ChatRows:
    """Rows of the chat table and their bodies (inline, or spilled to the attachments bucket).

    ``ttl_days`` (none: keep forever) sets the expiry of every row written without an explicit one.
    """

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        s3: S3Client,
        *,
        table: str,
        bucket: str,
        ttl_days: int | None,
    ) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.table = table
        self.bucket = bucket
        self.ttl_days = ttl_days

    def expiry(self) -> Row:
        """The TTL attribute of a row written now (``{}`` when chat data is kept)."""
        if not self.ttl_days:
            return {}
        return {CHAT_EXPIRES_AT: {"N": str(int(time.time()) + self.ttl_days * 86400)}}

    # --- reads ------------------------------------------------------------------------------------

    async def get(self, key: Row, projection: str | None = None) -> Row | None:
        """The row at ``key`` (strongly consistent), or ``None``."""
        kwargs: Row = {"TableName": self.table, "Key": key, "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
        response = await storage_call(self.dynamodb.get_item, **kwargs)
        item: Row | None = response.get("Item")
        return item

    async def query(self, request: Row, *, want: int) -> list[Row]:
        """Up to ``want`` rows; continues only when DynamoDB's 1 MB response cap cut a page short."""
        rows: list[Row] = []
        request = {"TableName": self.table, **request}
        while len(rows) < want:
            request["Limit"] = want - len(rows)
            response = await storage_call(self.dynamodb.query, **request)
            rows.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        return rows

    async def partition_pages(self, pk: str) -> AsyncIterator[list[Row]]:
        """Every row of partition ``pk`` (key and ``spill`` only), :data:`PARTITION_PAGE` at a time."""
        request: Row = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeValues": {":pk": str_value(pk)},
            "ExpressionAttributeNames": {"#pk": CHAT_PK, "#sk": CHAT_SK, "#spill": "spill"},
            "ProjectionExpression": "#pk, #sk, #spill",
            "ConsistentRead": True,
            "Limit": PARTITION_PAGE,
        }
        while True:
            response = await storage_call(self.dynamodb.query, **request)
            yield list(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    async def read_body(self, row: Row) -> bytes:
        """``row``'s body, fetched from the bucket if it was spilled."""
        inline = decode_inline(row)
        if inline is not None:
            return inline
        object_key = spilled_to(row)
        if object_key is None:
            raise RuntimeError(f"row {row[CHAT_PK]['S']}/{row[CHAT_SK]['S']} has no body")
        try:
            response = await storage_call(self.s3.get_object, Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            logger.error("spilled body missing", extra={"bucket": self.bucket, "key": object_key})
            raise RuntimeError(f"spilled body {object_key} could not be read") from exc
        return decode_spilled(await storage_call(response["Body"].read))

    async def read_bodies(self, rows: Sequence[Row]) -> list[bytes]:
        # Inline bodies decode in place; spilled ones (rare) are fetched from S3 concurrently.
        if not any(spilled_to(r) for r in rows):
            return [await self.read_body(r) for r in rows]
        return list(await asyncio.gather(*(self.read_body(r) for r in rows)))

    # --- writes -----------------------------------------------------------------------------------

    async def put_row(self, row: Row, *, condition: Row | None = None) -> Row:
        """Write ``row`` as it is (if ``condition``, the ``ConditionExpression`` arguments, holds);
        returns the row it replaced (``{}`` if none)."""
        response = await storage_call(
            self.dynamodb.put_item,
            TableName=self.table,
            Item=row,
            ReturnValues="ALL_OLD",
            **(condition or {}),
        )
        old: Row = response.get("Attributes", {})
        return old

    async def put(self, row: Row, payload: bytes, spill_key: str, *, expiry: Row | None = None) -> Row:
        """Upsert ``row`` with ``payload`` as its body; returns the row it replaced (``{}`` if none).

        A body too large for the row goes to the object ``spill_key``; a smaller body written over a
        spilled one deletes the old object. ``expiry`` replaces the default TTL attribute (``{}``: none).
        Every write stamps a new :data:`REVISION` on the row, which :meth:`replace` checks.
        """
        old = await self._write(row, payload, spill_key, expiry=expiry, seen=None)
        return old or {}  # never None: only a conditional write can lose

    async def replace(self, row: Row, payload: bytes, spill_key: str, *, seen: Row) -> bool:
        """Like :meth:`put`, but only over the row ``seen`` (read before): False, and nothing written,
        when another write came in between (the stored :data:`REVISION` is no longer ``seen``'s).

        A spilled body goes to an object of its own (``spill_key`` plus the new revision), so a write
        that loses never touches the object the stored row points at; it deletes its own instead.
        """
        return await self._write(row, payload, spill_key, expiry=None, seen=seen) is not None

    async def _write(
        self, row: Row, payload: bytes, spill_key: str, *, expiry: Row | None, seen: Row | None
    ) -> Row | None:
        revision = uuid.uuid4().hex
        body, spilled = encode_body(payload)
        object_key = None
        if spilled is not None:
            object_key = spill_key if seen is None else f"{spill_key}.{revision}"
            # Object before row: the row never points at an object that is not there yet.
            await storage_call(self.s3.put_object, Bucket=self.bucket, Key=object_key, Body=spilled)
            body = spill_attributes(object_key)
        stamped = {**row, **body, **(self.expiry() if expiry is None else expiry)}
        stamped[REVISION] = str_value(revision)
        try:
            old = await self.put_row(stamped, condition=None if seen is None else _unchanged_since(seen))
        except ClientError as exc:
            if seen is None or exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            if object_key is not None:
                await self.delete_objects([object_key])
            return None
        old_object = spilled_to(old)
        if old_object and old_object != object_key:
            await self.delete_objects([old_object])
        return old

    async def delete(self, key: Row, *, spill: bool = True) -> Row:
        """Delete the row at ``key`` (and, unless ``spill`` is false, its spilled body); returns it."""
        response = await storage_call(
            self.dynamodb.delete_item, TableName=self.table, Key=key, ReturnValues="ALL_OLD"
        )
        old: Row = response.get("Attributes", {})
        old_object = spilled_to(old)
        if spill and old_object:
            await self.delete_objects([old_object])
        return old

    async def batch_delete(self, keys: Sequence[Row]) -> None:
        """Delete the rows at ``keys``, :data:`BATCH_WRITE_MAX` per ``BatchWriteItem``."""
        for start in range(0, len(keys), BATCH_WRITE_MAX):
            requests: Any = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + BATCH_WRITE_MAX]]
            await self.batch_write(requests)

    async def batch_write(self, requests: list[Any]) -> None:
        """One ``BatchWriteItem`` (at most 25 requests), retrying unprocessed items with backoff."""
        pending = {self.table: requests}
        for attempt in range(10):
            response = await storage_call(self.dynamodb.batch_write_item, RequestItems=pending)
            unprocessed = response.get("UnprocessedItems") or {}
            if not unprocessed.get(self.table):
                return
            pending = {self.table: list(unprocessed[self.table])}
            # Throttled: back off (exponentially, capped) before retrying what was not written.
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        raise RuntimeError(f"BatchWriteItem left {len(pending[self.table])} items unprocessed")

    async def delete_objects(self, keys: Iterable[str]) -> None:
        """Delete objects from the bucket, :data:`S3_DELETE_MAX` per request; missing ones are fine."""
        unique = sorted(set(keys))
        for start in range(0, len(unique), S3_DELETE_MAX):
            chunk = unique[start : start + S3_DELETE_MAX]
            response = await storage_call(
                self.s3.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                logger.error("S3 delete failed", extra={"bucket": self.bucket, "errors": errors[:5]})
                raise RuntimeError(f"could not delete {len(errors)} objects from {self.bucket}")

"""ChatKit's ``Store`` on one DynamoDB table (threads, items, attachment metadata), large bodies in S3.

Key design (the table itself is specified in :mod:`task_assistant.storage.tables`):

=========================  ===========================  =========================  ======================
row                        pk                           sk                         index keys
=========================  ===========================  =========================  ======================
thread metadata            ``U#<user>#T#<thread>``      ``THREAD``                 ``gsi1pk``/``gsi1sk``
thread item                ``U#<user>#T#<thread>``      ``ITEM#<item>``            ``created``
attachment reference       ``U#<user>#T#<thread>``      ``ATTACHMENT#<att>``       (none)
attachment metadata        ``U#<user>#A#<att>``         ``ATTACHMENT``             (none)
=========================  ===========================  =========================  ======================

- Isolation is structural: every key starts with the caller's user id (which cannot contain ``#``),
  so another user's thread, item or attachment is simply not at the key this store reads, and looks
  exactly like a missing one.
- Items are read through the ``by_created`` LSI, sort key ``<created_at, fixed width>#<item id>``:
  chronological order with the item id as a stable tie-break, forwards or backwards, strongly
  consistent, ``Limit`` = page size + 1 (the extra row only tells whether there is more).
- Threads are listed through the ``by_user`` GSI (``U#<user>``, ``<created_at>#<thread id>``).
- A cursor (``after``) is an id; one ``GetItem`` of that row yields its sort key, and the page is a
  ``Query`` strictly beyond it. An id that names nothing the caller owns raises ``NotFoundError``.
- Every read is a ``GetItem`` or a ``Query`` bounded by the page size; nothing scans.
- An attachment saved with a ``thread_id`` also gets a reference row in that thread's partition, so
  deleting the thread finds (with the same partition ``Query``) and deletes its attachments.

Bodies are the pydantic JSON of the ChatKit model (lossless, naive datetimes stay naive). Up to
``COMPRESS_ABOVE`` bytes they are stored as a string (``body``); larger bodies are zlib-compressed
into a binary attribute (``bodyz``); if that is still over ``INLINE_MAX`` (DynamoDB caps a row at
400 KB) the compressed body goes to the attachments bucket under ``spill/`` and the row keeps its key
(``spill``). Spill keys are derived from the row's key, so overwriting a row overwrites its object;
the object is deleted when the row is deleted or rewritten small.

Concurrency: boto3 is synchronous. Every AWS call goes through
:func:`task_assistant.storage.clients.run_sync`, which runs it on a worker thread, so the async
methods never block the event loop. boto3 clients are thread-safe, and staying on boto3 (rather than
aiobotocore) keeps one botocore for the app, Lambda and CDK.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote

from botocore.exceptions import ClientError
from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata
from pydantic import TypeAdapter

from task_assistant.chat.ids import new_id
from task_assistant.context import RequestContext
from task_assistant.log import logger
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, run_sync, s3_client
from task_assistant.storage.tables import CHAT_BY_CREATED, CHAT_BY_USER

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

Row = dict[str, Any]
"""A DynamoDB item in the low-level client's attribute-value form."""

ITEM_ADAPTER: Final[TypeAdapter[ThreadItem]] = TypeAdapter(ThreadItem)
THREAD_ADAPTER: Final[TypeAdapter[ThreadMetadata]] = TypeAdapter(ThreadMetadata)
ATTACHMENT_ADAPTER: Final[TypeAdapter[Attachment]] = TypeAdapter(Attachment)

#: JSON bodies larger than this are zlib-compressed (fewer write/read units, more room under 400 KB).
COMPRESS_ABOVE: Final = 4 * 1024
#: Compressed bodies larger than this go to S3; the rest of the row stays far below DynamoDB's 400 KB.
INLINE_MAX: Final = 350 * 1024

BY_CREATED: Final = CHAT_BY_CREATED
BY_USER: Final = CHAT_BY_USER
THREAD_SK: Final = "THREAD"
ITEM_PREFIX: Final = "ITEM#"
ATTACHMENT_REF_PREFIX: Final = "ATTACHMENT#"
ATTACHMENT_SK: Final = "ATTACHMENT"
BATCH_WRITE_MAX: Final = 25
DELETE_PAGE: Final = 500
S3_DELETE_MAX: Final = 1000
MAX_ID_BYTES: Final = 512
#: Lifetime of the metadata row of an attachment that no message has used yet (created, perhaps uploaded,
#: then abandoned by the client). Sending it in a message saves it with a thread id, which replaces this
#: with the chat TTL (``ITEM_TTL_DAYS``) or none. The uploaded object is left to the bucket's lifecycle rule.
UNATTACHED_TTL_SECONDS: Final = 24 * 3600

Order = Literal["asc", "desc"]


# --- per-request thread handoff -------------------------------------------------------------------


@dataclass
class _Handoff:
    thread: ThreadMetadata | None
    user_id: str


# Mutable holder in the context variable: taking the thread clears it in every context copied from the
# request's (chatkit streams from a task created later), so the handoff is used once and only once.
_PRELOADED: ContextVar[_Handoff | None] = ContextVar("task_assistant_preloaded_thread", default=None)


def preload_thread(thread: ThreadMetadata, context: RequestContext) -> None:
    """Hand ``thread``, just loaded for ``context``'s user, to this request's next ``load_thread`` of it.

    The HTTP gate loads a thread to check that the caller owns it, and ChatKit's server then loads it
    again first thing; this saves the second ``GetItem``. The handoff lives in a context variable (one
    request's task and the tasks it starts), is used only when the thread id and the user id both match,
    and only once: every later load in the request reads the table. A new call replaces the previous one.
    """
    _PRELOADED.set(_Handoff(thread=thread, user_id=context.user_id))


def _take_preloaded(thread_id: str, context: RequestContext) -> ThreadMetadata | None:
    handoff = _PRELOADED.get()
    if handoff is None or handoff.thread is None:
        return None
    if handoff.thread.id != thread_id or handoff.user_id != context.user_id:
        return None
    thread, handoff.thread = handoff.thread, None
    return thread


# --- keys -----------------------------------------------------------------------------------------


def thread_pk(user_id: str, thread_id: str) -> str:
    """Partition of one thread: its metadata, items and attachment references."""
    return f"U#{user_id}#T#{thread_id}"


def attachment_pk(user_id: str, attachment_id: str) -> str:
    """Partition of one attachment's metadata."""
    return f"U#{user_id}#A#{attachment_id}"


def user_index_pk(user_id: str) -> str:
    """``by_user`` partition holding the user's threads."""
    return f"U#{user_id}"


def sort_key(created_at: datetime, ident: str) -> str:
    """``<created_at>#<id>`` with a fixed-width timestamp, so string order is chronological.

    Naive datetimes (what ChatKit produces) are used as they are; aware ones are converted to UTC.
    The id breaks ties between equal timestamps.
    """
    dt = created_at
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond:06d}#{ident}"
    )


def _q(part: str) -> str:
    # Percent-encode every key component so no id can add or remove a path level.
    return quote(part, safe="")


def attachment_object_key(user_id: str, attachment_id: str) -> str:
    """S3 key of an attachment's uploaded bytes (scoped by user)."""
    return f"attachments/{_q(user_id)}/{_q(attachment_id)}"


def thread_spill_key(user_id: str, thread_id: str) -> str:
    return f"spill/{_q(user_id)}/T/{_q(thread_id)}/THREAD"


def item_spill_key(user_id: str, thread_id: str, item_id: str) -> str:
    return f"spill/{_q(user_id)}/T/{_q(thread_id)}/I/{_q(item_id)}"


def attachment_spill_key(user_id: str, attachment_id: str) -> str:
    return f"spill/{_q(user_id)}/A/{_q(attachment_id)}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(pk: str, sk: str) -> Row:
    return {"pk": _s(pk), "sk": _s(sk)}


def _valid_id(value: str) -> bool:
    # DynamoDB caps sort keys at 1,024 bytes; ids end up in `sk`, `created` and `gsi1sk`.
    return bool(value) and len(value.encode("utf-8")) <= MAX_ID_BYTES


def _require_id(value: str, what: str) -> None:
    if not _valid_id(value):
        raise ValueError(f"{what} must be a non-empty string of at most {MAX_ID_BYTES} bytes (UTF-8)")


# --- bodies ---------------------------------------------------------------------------------------


def encode_body(payload: bytes) -> tuple[Row, bytes | None]:
    """Attributes that hold ``payload`` inline, or ``({}, compressed)`` when it must go to S3."""
    if len(payload) <= COMPRESS_ABOVE:
        return {"body": _s(payload.decode("utf-8"))}, None
    compressed = zlib.compress(payload, 6)
    if len(compressed) <= INLINE_MAX:
        return {"bodyz": {"B": compressed}}, None
    return {}, compressed


class DynamoDBStore(Store[RequestContext]):
    """ChatKit store on the chat table; see the module docstring for keys and guarantees.

    ``dynamodb`` and ``s3`` default to clients built from ``settings``; pass your own to share
    connection pools or to observe requests.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        dynamodb: DynamoDBClient | None = None,
        s3: S3Client | None = None,
    ) -> None:
        self.settings = settings
        self.table = settings.chat_table_name
        self.bucket = settings.attachments_bucket
        self.dynamodb: DynamoDBClient = dynamodb if dynamodb is not None else dynamodb_client(settings)
        self.s3: S3Client = s3 if s3 is not None else s3_client(settings)

    # --- ids --------------------------------------------------------------------------------------

    def generate_thread_id(self, context: RequestContext) -> str:
        return new_id("thread")

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext
    ) -> str:
        return new_id(item_type)

    # --- threads ----------------------------------------------------------------------------------

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        preloaded = _take_preloaded(thread_id, context)
        if preloaded is not None:
            return preloaded
        row = None
        if _valid_id(thread_id):
            row = await self._get(_key(thread_pk(context.user_id, thread_id), THREAD_SK))
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return THREAD_ADAPTER.validate_json(await self._read_body(row))

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        """Upsert thread metadata. A ``Thread`` (which carries a page of items) is stored without them."""
        _require_id(thread.id, "thread id")
        # Rebuild a plain ThreadMetadata so a Thread's `items` can never reach the stored body.
        meta = ThreadMetadata(**{name: getattr(thread, name) for name in ThreadMetadata.model_fields})
        row: Row = {
            **_key(thread_pk(context.user_id, meta.id), THREAD_SK),
            "kind": _s("thread"),
            "gsi1pk": _s(user_index_pk(context.user_id)),
            "gsi1sk": _s(sort_key(meta.created_at, meta.id)),
        }
        await self._put(row, THREAD_ADAPTER.dump_json(meta), thread_spill_key(context.user_id, meta.id))

    async def load_threads(
        self,
        limit: int,
        after: str | None,
        order: str,
        context: RequestContext,
    ) -> Page[ThreadMetadata]:
        forward = self._forward(order)
        limit = self._cap(limit)
        condition = "gsi1pk = :pk"
        values: Row = {":pk": _s(user_index_pk(context.user_id))}
        if after:
            cursor = None
            if _valid_id(after):
                cursor = await self._get(
                    _key(thread_pk(context.user_id, after), THREAD_SK), projection="gsi1sk"
                )
            if cursor is None:
                raise NotFoundError(f"Thread {after} not found")
            condition += " AND gsi1sk > :c" if forward else " AND gsi1sk < :c"
            values[":c"] = cursor["gsi1sk"]
        # GSIs only offer eventually consistent reads; a thread created a moment ago may be missing.
        rows = await self._query(
            {
                "IndexName": BY_USER,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": forward,
            },
            want=limit + 1,
        )
        threads = [THREAD_ADAPTER.validate_json(b) for b in await self._read_bodies(rows[:limit])]
        return self._page(threads, has_more=len(rows) > limit)

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        """Delete the thread, its items, their spilled bodies and the thread's attachments.

        Pages through the thread's partition (a ``Query`` of keys only), deletes each page's S3
        objects first and then its rows with ``BatchWriteItem`` (25 per request, unprocessed items
        retried), and removes the thread row last: an interrupted delete leaves a thread that can be
        deleted again, never rows or objects that nothing points to. Missing or foreign: no-op.
        """
        if not _valid_id(thread_id):
            return
        user = context.user_id
        pk = thread_pk(user, thread_id)
        kwargs: Row = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(pk)},
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk", "#spill": "spill"},
            "ProjectionExpression": "#pk, #sk, #spill",
            "ConsistentRead": True,
            "Limit": DELETE_PAGE,
        }
        while True:
            response = await run_sync(self.dynamodb.query, **kwargs)
            row_keys: list[Row] = []
            objects: list[str] = []
            for row in response.get("Items", []):
                sk = row["sk"]["S"]
                if sk == THREAD_SK:
                    continue
                row_keys.append(_key(pk, sk))
                if "spill" in row:
                    objects.append(row["spill"]["S"])
                if sk.startswith(ATTACHMENT_REF_PREFIX):
                    attachment_id = sk[len(ATTACHMENT_REF_PREFIX) :]
                    row_keys.append(_key(attachment_pk(user, attachment_id), ATTACHMENT_SK))
                    objects.append(attachment_object_key(user, attachment_id))
                    objects.append(attachment_spill_key(user, attachment_id))
            await self._delete_objects(objects)
            await self._batch_delete(row_keys)
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            kwargs["ExclusiveStartKey"] = last
        await self._delete_row(_key(pk, THREAD_SK))

    # --- items ------------------------------------------------------------------------------------

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: RequestContext,
    ) -> Page[ThreadItem]:
        """A page of items in ``created_at`` order (item id breaks ties).

        A thread that is missing or not the caller's yields an empty page; ``after`` naming an item
        that is not in the caller's thread raises ``NotFoundError``.
        """
        forward = self._forward(order)
        limit = self._cap(limit)
        if not _valid_id(thread_id):
            return Page(data=[], has_more=False, after=None)
        pk = thread_pk(context.user_id, thread_id)
        condition = "pk = :pk"
        values: Row = {":pk": _s(pk)}
        if after:
            cursor = None
            if _valid_id(after):
                cursor = await self._get(_key(pk, ITEM_PREFIX + after), projection="created")
            if cursor is None:
                raise NotFoundError(f"Item {after} not found in thread {thread_id}")
            condition += " AND created > :c" if forward else " AND created < :c"
            values[":c"] = cursor["created"]
        rows = await self._query(
            {
                "IndexName": BY_CREATED,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": forward,
                "ConsistentRead": True,
            },
            want=limit + 1,
        )
        items = [ITEM_ADAPTER.validate_json(b) for b in await self._read_bodies(rows[:limit])]
        return self._page(items, has_more=len(rows) > limit)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        """Upsert ``item`` (adding the same id twice keeps one item, the latest version)."""
        await self._put_item(thread_id, item, context)

    async def save_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        """Upsert ``item`` by id."""
        await self._put_item(thread_id, item, context)

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        row = None
        if _valid_id(thread_id) and _valid_id(item_id):
            row = await self._get(_key(thread_pk(context.user_id, thread_id), ITEM_PREFIX + item_id))
        if row is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return ITEM_ADAPTER.validate_json(await self._read_body(row))

    async def delete_thread_item(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        """Delete one item and its spilled body, if any. Missing or foreign: no-op."""
        if _valid_id(thread_id) and _valid_id(item_id):
            await self._delete_row(_key(thread_pk(context.user_id, thread_id), ITEM_PREFIX + item_id))

    # --- attachments ------------------------------------------------------------------------------

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        """Upsert attachment metadata; with a ``thread_id``, also reference it from that thread.

        Without a ``thread_id`` (not sent in a message yet) the row expires after
        :data:`UNATTACHED_TTL_SECONDS`; with one it gets the chat TTL, if any, like every chat row.
        """
        _require_id(attachment.id, "attachment id")
        user = context.user_id
        # The reference goes first: a crash between the two writes leaves a reference to nothing
        # (harmless), never an attachment its thread's deletion would miss.
        if attachment.thread_id:
            _require_id(attachment.thread_id, "attachment thread id")
            await self._put_raw(
                {
                    **_key(thread_pk(user, attachment.thread_id), ATTACHMENT_REF_PREFIX + attachment.id),
                    "kind": _s("attachment_ref"),
                    **self._ttl(),
                }
            )
        row: Row = {**_key(attachment_pk(user, attachment.id), ATTACHMENT_SK), "kind": _s("attachment")}
        if attachment.thread_id:
            row["thread_id"] = _s(attachment.thread_id)
        else:
            row["expires_at"] = {"N": str(int(time.time()) + UNATTACHED_TTL_SECONDS)}
        # A put replaces the whole row: attaching drops the unattached expiry (or sets the chat TTL).
        old = await self._put(
            row,
            ATTACHMENT_ADAPTER.dump_json(attachment),
            attachment_spill_key(user, attachment.id),
            ttl=None if attachment.thread_id else {},
        )
        old_thread = old.get("thread_id", {}).get("S") if old else None
        if old_thread and old_thread != attachment.thread_id:
            await self._delete_row(_key(thread_pk(user, old_thread), ATTACHMENT_REF_PREFIX + attachment.id))

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        row = None
        if _valid_id(attachment_id):
            row = await self._get(_key(attachment_pk(context.user_id, attachment_id), ATTACHMENT_SK))
        if row is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        return ATTACHMENT_ADAPTER.validate_json(await self._read_body(row))

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        """Delete an attachment's uploaded object, its metadata and its thread reference (idempotent).

        The object goes first, so an interruption leaves metadata that can be deleted again rather than
        an object nothing points to. Missing or foreign: no-op.
        """
        if not _valid_id(attachment_id):
            return
        user = context.user_id
        await self._delete_objects(
            [attachment_object_key(user, attachment_id), attachment_spill_key(user, attachment_id)]
        )
        old = await self._delete_row(_key(attachment_pk(user, attachment_id), ATTACHMENT_SK), spill=False)
        old_thread = old.get("thread_id", {}).get("S") if old else None
        if old_thread:
            await self._delete_row(_key(thread_pk(user, old_thread), ATTACHMENT_REF_PREFIX + attachment_id))

    # --- serialization helpers (also used by the benchmark to seed rows) ----------------------------

    def item_row(self, thread_id: str, item: ThreadItem, context: RequestContext) -> tuple[Row, bytes]:
        """The key attributes of ``item``'s row (without the body) and the body's JSON."""
        _require_id(thread_id, "thread id")
        _require_id(item.id, "item id")
        row: Row = {
            **_key(thread_pk(context.user_id, thread_id), ITEM_PREFIX + item.id),
            "kind": _s("item"),
            "item_type": _s(item.type),
            "created": _s(sort_key(item.created_at, item.id)),
        }
        return row, ITEM_ADAPTER.dump_json(item)

    def inline_row(self, row: Row, payload: bytes) -> Row:
        """``row`` with ``payload`` stored inline (and the TTL); ``ValueError`` if it would spill."""
        body, spilled = encode_body(payload)
        if spilled is not None:
            raise ValueError("payload too large to store inline")
        return {**row, **body, **self._ttl()}

    # --- internals --------------------------------------------------------------------------------

    def _cap(self, limit: int) -> int:
        # ChatKit passes client-chosen limits through unchecked; keep every page bounded.
        return max(1, min(int(limit), self.settings.page_size_cap))

    @staticmethod
    def _forward(order: str) -> bool:
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
        return order == "asc"

    @staticmethod
    def _page(data: Sequence[Any], *, has_more: bool) -> Page[Any]:
        # When there is more, `after` must be the last returned id (ChatKit loops on it).
        return Page(data=list(data), has_more=has_more, after=data[-1].id if has_more and data else None)

    def _ttl(self) -> Row:
        if not self.settings.item_ttl_days:
            return {}
        return {"expires_at": {"N": str(int(time.time()) + self.settings.item_ttl_days * 86400)}}

    async def _put_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        row, payload = self.item_row(thread_id, item, context)
        await self._put(row, payload, item_spill_key(context.user_id, thread_id, item.id))

    async def _get(self, key: Row, projection: str | None = None) -> Row | None:
        kwargs: Row = {"TableName": self.table, "Key": key, "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
        response = await run_sync(self.dynamodb.get_item, **kwargs)
        item: Row | None = response.get("Item")
        return item

    async def _query(self, kwargs: Row, *, want: int) -> list[Row]:
        """Up to ``want`` rows; continues only when DynamoDB's 1 MB response cap cut a page short."""
        rows: list[Row] = []
        request: Row = {"TableName": self.table, **kwargs}
        while len(rows) < want:
            request["Limit"] = want - len(rows)
            response = await run_sync(self.dynamodb.query, **request)
            rows.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        return rows

    async def _put_raw(self, row: Row) -> Row:
        response = await run_sync(
            self.dynamodb.put_item, TableName=self.table, Item=row, ReturnValues="ALL_OLD"
        )
        old: Row = response.get("Attributes", {})
        return old

    async def _put(self, row: Row, payload: bytes, spill_key: str, *, ttl: Row | None = None) -> Row:
        """Upsert ``row`` with ``payload`` as its body; returns the row it replaced (``{}`` if none).

        ``ttl`` replaces the chat TTL attributes (``{}``: add none, ``row`` keeps its own expiry).
        """
        body, spilled = encode_body(payload)
        if spilled is not None:
            # Object before row: the row never points at an object that is not there yet.
            await run_sync(self.s3.put_object, Bucket=self.bucket, Key=spill_key, Body=spilled)
            body = {"spill": _s(spill_key)}
        old = await self._put_raw({**row, **body, **(self._ttl() if ttl is None else ttl)})
        if "spill" in old and spilled is None:
            await self._delete_objects([old["spill"]["S"]])
        return old

    async def _delete_row(self, key: Row, *, spill: bool = True) -> Row:
        response = await run_sync(
            self.dynamodb.delete_item, TableName=self.table, Key=key, ReturnValues="ALL_OLD"
        )
        old: Row = response.get("Attributes", {})
        if spill and "spill" in old:
            await self._delete_objects([old["spill"]["S"]])
        return old

    async def _batch_delete(self, keys: Sequence[Row]) -> None:
        for start in range(0, len(keys), BATCH_WRITE_MAX):
            requests: Any = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + BATCH_WRITE_MAX]]
            await self._batch_write(requests)

    async def _batch_write(self, requests: list[Any]) -> None:
        """One ``BatchWriteItem`` (at most 25 requests), retrying unprocessed items with backoff."""
        pending = {self.table: requests}
        for attempt in range(10):
            response = await run_sync(self.dynamodb.batch_write_item, RequestItems=pending)
            unprocessed = response.get("UnprocessedItems") or {}
            if not unprocessed.get(self.table):
                return
            pending = {self.table: list(unprocessed[self.table])}
            # Throttled: back off (exponentially, capped) before retrying what was not written.
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        raise RuntimeError(f"BatchWriteItem left {len(pending[self.table])} items unprocessed")

    async def _delete_objects(self, keys: Iterable[str]) -> None:
        unique = sorted(set(keys))
        for start in range(0, len(unique), S3_DELETE_MAX):
            chunk = unique[start : start + S3_DELETE_MAX]
            response = await run_sync(
                self.s3.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                logger.error("S3 delete failed", extra={"bucket": self.bucket, "errors": errors[:5]})
                raise RuntimeError(f"could not delete {len(errors)} objects from {self.bucket}")

    async def _read_body(self, row: Row) -> bytes:
        if "body" in row:
            return str(row["body"]["S"]).encode("utf-8")
        if "bodyz" in row:
            return zlib.decompress(row["bodyz"]["B"])
        if "spill" in row:
            key = row["spill"]["S"]
            try:
                response = await run_sync(self.s3.get_object, Bucket=self.bucket, Key=key)
            except ClientError as exc:
                logger.error("spilled body missing", extra={"bucket": self.bucket, "key": key})
                raise RuntimeError(f"spilled body {key} could not be read") from exc
            data = await run_sync(response["Body"].read)
            return zlib.decompress(data)
        raise RuntimeError(f"row {row['pk']['S']}/{row['sk']['S']} has no body")

    async def _read_bodies(self, rows: Sequence[Row]) -> list[bytes]:
        # Inline bodies decode in place; spilled ones (rare) are fetched from S3 concurrently.
        if not any("spill" in r for r in rows):
            return [await self._read_body(r) for r in rows]
        return list(await asyncio.gather(*(self._read_body(r) for r in rows)))

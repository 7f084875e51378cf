"""ChatKit's ``Store`` on one DynamoDB table (threads, items, attachment metadata), large bodies in S3.

The methods follow ``chatkit.store.Store``'s order. Where rows live is :mod:`.keys`, how a model is
stored in its row is :mod:`.bodies`, and the DynamoDB and S3 calls are :mod:`.table`. Guarantees:

- Another user's thread, item or attachment looks exactly like a missing one (keys carry the user).
- Items are read through the ``by_created`` LSI: chronological order with the item id as a stable
  tie-break, forwards or backwards, strongly consistent, ``Limit`` = page size + 1 (the extra row only
  tells whether there is more). Threads are listed through the ``by_user`` GSI.
- A cursor (``after``) is an id; one ``GetItem`` of that row yields its sort key, and the page is a
  ``Query`` strictly beyond it. An id that names nothing the caller owns raises ``NotFoundError``.
- Page sizes are capped at ``settings.page_size_cap``; nothing scans.
- A thread the request already loaded (:attr:`RequestContext.preloaded_thread`) is not read again.
- ``update_item`` changes an item without losing a concurrent write (a conditional write per attempt).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata

from task_assistant.chat.ids import new_id
from task_assistant.chat.store.bodies import ATTACHMENT_ADAPTER, ITEM_ADAPTER, THREAD_ADAPTER, spilled_to
from task_assistant.chat.store.keys import (
    THREAD_SK,
    Row,
    attachment_in_reference,
    attachment_key,
    attachment_object_key,
    attachment_reference_key,
    attachment_spill_key,
    feedback_key,
    item_key,
    item_row,
    item_spill_key,
    key,
    require_id,
    sort_key,
    str_value,
    thread_key,
    thread_pk,
    thread_row,
    thread_spill_key,
    user_index_pk,
    valid_id,
)
from task_assistant.chat.store.table import ChatRows
from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, s3_client
from task_assistant.storage.tables import (
    CHAT_BY_CREATED,
    CHAT_BY_USER,
    CHAT_CREATED,
    CHAT_EXPIRES_AT,
    CHAT_PK,
    CHAT_SK,
    CHAT_USER_PK,
    CHAT_USER_SK,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

#: Lifetime of the metadata row of an attachment that no message has used yet (created, perhaps uploaded,
#: then abandoned by the client). Sending it in a message saves it with a thread id, which replaces this
#: with the chat TTL (``ITEM_TTL_DAYS``) or none. The uploaded object is left to the bucket's lifecycle rule.
UNATTACHED_TTL_SECONDS: Final = 24 * 3600
#: Reads and conditional writes :meth:`DynamoDBStore.update_item` tries before giving up.
UPDATE_ATTEMPTS: Final = 5


class ItemChangedError(Exception):
    """An item changed under every attempt of :meth:`DynamoDBStore.update_item` to change it."""


class DynamoDBStore(Store[RequestContext]):
    """ChatKit store on the chat table; see the module docstring for guarantees.

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
        self.rows = ChatRows(
            self.dynamodb, self.s3, table=self.table, bucket=self.bucket, ttl_days=settings.item_ttl_days
        )

    def generate_thread_id(self, context: RequestContext) -> str:
        return new_id("thread")

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext
    ) -> str:
        return new_id(item_type)

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        preloaded = context.preloaded_thread
        thread = preloaded.take(thread_id, context.user_id) if preloaded is not None else None
        if thread is not None:
            return thread
        row = await self.rows.get(thread_key(context.user_id, thread_id)) if valid_id(thread_id) else None
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return THREAD_ADAPTER.validate_json(await self.rows.read_body(row))

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        """Upsert thread metadata. A ``Thread`` (which carries a page of items) is stored without them."""
        # Rebuild a plain ThreadMetadata so a Thread's `items` can never reach the stored body.
        meta = ThreadMetadata(**{name: getattr(thread, name) for name in ThreadMetadata.model_fields})
        row = thread_row(context.user_id, meta)
        await self.rows.put(row, THREAD_ADAPTER.dump_json(meta), thread_spill_key(context.user_id, meta.id))

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
        if not valid_id(thread_id):
            return Page(data=[], has_more=False, after=None)
        cursor_key = item_key(context.user_id, thread_id, after) if after and valid_id(after) else None
        rows = await self._index_page(
            CHAT_BY_CREATED,
            (CHAT_PK, thread_pk(context.user_id, thread_id)),
            CHAT_CREATED,
            after=(after, cursor_key, f"Item {after} not found in thread {thread_id}"),
            forward=forward,
            limit=limit,
            consistent=True,
        )
        items = [ITEM_ADAPTER.validate_json(b) for b in await self.rows.read_bodies(rows[:limit])]
        return self._page(items, has_more=len(rows) > limit)

    async def load_items_before(
        self, thread_id: str, item: ThreadItem, limit: int, context: RequestContext
    ) -> list[ThreadItem]:
        """Up to ``limit`` items that sort before ``item``, newest first: one ``Query``.

        What ``load_thread_items(thread_id, item.id, limit, "desc")`` returns, without the ``GetItem``
        that finds a cursor's sort key: ``item`` (a turn's own message) carries it.
        """
        if not valid_id(thread_id) or not valid_id(item.id):
            return []
        rows = await self.rows.query(
            {
                "IndexName": CHAT_BY_CREATED,
                "KeyConditionExpression": f"{CHAT_PK} = :pk AND {CHAT_CREATED} < :c",
                "ExpressionAttributeValues": {
                    ":pk": str_value(thread_pk(context.user_id, thread_id)),
                    ":c": str_value(sort_key(item.created_at, item.id)),
                },
                "ScanIndexForward": False,
                "ConsistentRead": True,
            },
            want=self._cap(limit),
        )
        return [ITEM_ADAPTER.validate_json(b) for b in await self.rows.read_bodies(rows)]

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        """Upsert attachment metadata; with a ``thread_id``, also reference it from that thread.

        Without a ``thread_id`` (not sent in a message yet) the row expires after
        :data:`UNATTACHED_TTL_SECONDS`; with one it gets the chat TTL, if any, like every chat row.
        """
        require_id(attachment.id, "attachment id")
        user = context.user_id
        # The reference goes first: a crash between the two writes leaves a reference to nothing
        # (harmless), never an attachment its thread's deletion would miss.
        if attachment.thread_id:
            require_id(attachment.thread_id, "attachment thread id")
            reference = attachment_reference_key(user, attachment.thread_id, attachment.id)
            await self.rows.put_row({**reference, "kind": str_value("attachment_ref"), **self.rows.expiry()})
        row: Row = {**attachment_key(user, attachment.id), "kind": str_value("attachment")}
        if attachment.thread_id:
            row["thread_id"] = str_value(attachment.thread_id)
        else:
            row[CHAT_EXPIRES_AT] = {"N": str(int(time.time()) + UNATTACHED_TTL_SECONDS)}
        # A put replaces the whole row: attaching drops the unattached expiry (or sets the chat TTL).
        old = await self.rows.put(
            row,
            ATTACHMENT_ADAPTER.dump_json(attachment),
            attachment_spill_key(user, attachment.id),
            expiry=None if attachment.thread_id else {},
        )
        old_thread = old.get("thread_id", {}).get("S") if old else None
        if old_thread and old_thread != attachment.thread_id:
            await self.rows.delete(attachment_reference_key(user, old_thread, attachment.id))

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        row = None
        if valid_id(attachment_id):
            row = await self.rows.get(attachment_key(context.user_id, attachment_id))
        if row is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        return ATTACHMENT_ADAPTER.validate_json(await self.rows.read_body(row))

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        """Delete an attachment's uploaded object, its metadata and its thread reference (idempotent).

        The object goes first, so an interruption leaves metadata that can be deleted again rather than
        an object nothing points to. Missing or foreign: no-op.
        """
        if not valid_id(attachment_id):
            return
        user = context.user_id
        await self.rows.delete_objects(
            [attachment_object_key(user, attachment_id), attachment_spill_key(user, attachment_id)]
        )
        old = await self.rows.delete(attachment_key(user, attachment_id), spill=False)
        old_thread = old.get("thread_id", {}).get("S") if old else None
        if old_thread:
            await self.rows.delete(attachment_reference_key(user, old_thread, attachment_id))

    async def load_threads(
        self,
        limit: int,
        after: str | None,
        order: str,
        context: RequestContext,
    ) -> Page[ThreadMetadata]:
        forward = self._forward(order)
        limit = self._cap(limit)
        cursor_key = thread_key(context.user_id, after) if after and valid_id(after) else None
        # GSIs only offer eventually consistent reads; a thread created a moment ago may be missing.
        rows = await self._index_page(
            CHAT_BY_USER,
            (CHAT_USER_PK, user_index_pk(context.user_id)),
            CHAT_USER_SK,
            after=(after, cursor_key, f"Thread {after} not found"),
            forward=forward,
            limit=limit,
            consistent=False,
        )
        threads = [THREAD_ADAPTER.validate_json(b) for b in await self.rows.read_bodies(rows[:limit])]
        return self._page(threads, has_more=len(rows) > limit)

    async def _index_page(
        self,
        index: str,
        partition: tuple[str, str],
        sort_attribute: str,
        *,
        after: tuple[str | None, Row | None, str],
        forward: bool,
        limit: int,
        consistent: bool,
    ) -> list[Row]:
        """Up to ``limit + 1`` rows of one index partition, strictly beyond the cursor row when one is given.

        ``after`` is (cursor id, the cursor row's key or None when the id cannot be a key, the
        ``NotFoundError`` message when no such row exists).
        """
        cursor_id, cursor_key, missing = after
        condition = f"{partition[0]} = :pk"
        values: Row = {":pk": str_value(partition[1])}
        if cursor_id:
            cursor = await self.rows.get(cursor_key, projection=sort_attribute) if cursor_key else None
            if cursor is None:
                raise NotFoundError(missing)
            condition += f" AND {sort_attribute} {'>' if forward else '<'} :c"
            values[":c"] = cursor[sort_attribute]
        query: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if consistent:
            query["ConsistentRead"] = True
        return await self.rows.query(query, want=limit + 1)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        """Upsert ``item`` by id (adding the same id twice keeps one item, the latest version)."""
        row = item_row(context.user_id, thread_id, item)
        await self.rows.put(
            row, ITEM_ADAPTER.dump_json(item), item_spill_key(context.user_id, thread_id, item.id)
        )

    # ChatKit calls this for replaced items and the other for new ones; both are the same upsert here.
    save_item = add_thread_item

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        return (await self._item_and_row(thread_id, item_id, context))[0]

    async def update_item(
        self,
        thread_id: str,
        item_id: str,
        change: Callable[[ThreadItem], ThreadItem],
        context: RequestContext,
    ) -> ThreadItem:
        """Read the item, write back ``change(item)``, never over a write made in between; returns it.

        When another write reached the item after the read, ``change`` runs again on the newer item
        (up to :data:`UPDATE_ATTEMPTS` times, then :class:`ItemChangedError`); so two concurrent
        changes to one item both take effect. ``NotFoundError`` as :meth:`load_item`.
        """
        for _ in range(UPDATE_ATTEMPTS):
            item, row = await self._item_and_row(thread_id, item_id, context)
            changed = change(item)
            if changed.id != item.id:
                raise ValueError(f"a change of item {item.id} returned item {changed.id}")
            payload = ITEM_ADAPTER.dump_json(changed)
            spill_key = item_spill_key(context.user_id, thread_id, item_id)
            if await self.rows.replace(
                item_row(context.user_id, thread_id, changed), payload, spill_key, seen=row
            ):
                return changed
        raise ItemChangedError(f"item {item_id} kept changing; {UPDATE_ATTEMPTS} attempts")

    async def _item_and_row(
        self, thread_id: str, item_id: str, context: RequestContext
    ) -> tuple[ThreadItem, Row]:
        row = None
        if valid_id(thread_id) and valid_id(item_id):
            row = await self.rows.get(item_key(context.user_id, thread_id, item_id))
        if row is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return ITEM_ADAPTER.validate_json(await self.rows.read_body(row)), row

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        """Delete the thread, its items, their spilled bodies and the thread's attachments.

        Pages through the thread's partition (a ``Query`` of keys only), deletes each page's S3
        objects first and then its rows with ``BatchWriteItem`` (25 per request, unprocessed items
        retried), and removes the thread row last: an interrupted delete leaves a thread that can be
        deleted again, never rows or objects that nothing points to. Missing or foreign: no-op.
        """
        if not valid_id(thread_id):
            return
        user = context.user_id
        pk = thread_pk(user, thread_id)
        async for page in self.rows.partition_pages(pk):
            row_keys: list[Row] = []
            objects: list[str] = []
            for row in page:
                sk = row[CHAT_SK]["S"]
                if sk == THREAD_SK:
                    continue
                row_keys.append(key(pk, sk))
                spilled = spilled_to(row)
                if spilled:
                    objects.append(spilled)
                attachment_id = attachment_in_reference(sk)
                if attachment_id is not None:
                    row_keys.append(attachment_key(user, attachment_id))
                    objects.append(attachment_object_key(user, attachment_id))
                    objects.append(attachment_spill_key(user, attachment_id))
            await self.rows.delete_objects(objects)
            await self.rows.batch_delete(row_keys)
        await self.rows.delete(thread_key(user, thread_id))

    async def delete_thread_item(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        """Delete one item, its spilled body and its feedback, if any. Missing or foreign: no-op."""
        if valid_id(thread_id) and valid_id(item_id):
            await self.rows.delete(item_key(context.user_id, thread_id, item_id))
            await self.rows.delete(feedback_key(context.user_id, thread_id, item_id), spill=False)

    # --- paging rules -----------------------------------------------------------------------------

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

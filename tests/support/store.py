"""Helpers of the store tests: request logs on the shared client, fast seeding, and raw looks at rows."""

from __future__ import annotations

import asyncio
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chatkit.types import AttachmentCreateParams, Page, ThreadItem, ThreadMetadata

from support.store_samples import BASE, assistant_message
from task_assistant.chat.ids import new_id
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.bodies import ITEM_ADAPTER, encode_body
from task_assistant.chat.store.keys import Row, item_row
from task_assistant.context import RequestContext

if TYPE_CHECKING:
    import pytest
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef


@dataclass
class RequestLog:
    """Every DynamoDB request a client sends (operation name and parameters), via botocore events."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, params))

    @property
    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def counts(self) -> Counter[str]:
        return Counter(self.operations)

    def clear(self) -> None:
        self.calls.clear()


class EventHooks:
    """botocore event handlers on a shared client, removed again when the test ends."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._registered: list[tuple[str, Any]] = []

    def register(self, event: str, handler: Any) -> None:
        # before-parameter-build carries the API-level parameters (Limit, RequestItems...) by name.
        self.client.meta.events.register(event, handler)
        self._registered.append((event, handler))

    def remove_all(self) -> None:
        for event, handler in self._registered:
            self.client.meta.events.unregister(event, handler)
        for _, handler in self._registered:
            if isinstance(handler, RequestLog):
                # Whatever a test did, the store never scanned.
                assert "Scan" not in handler.operations
        self._registered.clear()


def thread(thread_id: str, created_at: datetime = BASE, title: str | None = "t") -> ThreadMetadata:
    return ThreadMetadata(id=thread_id, title=title, created_at=created_at, metadata={"k": "v"})


def stored_item_row(store: DynamoDBStore, ctx: RequestContext, thread_id: str, item: ThreadItem) -> Row:
    """The row the store writes for a small ``item``, built with the store's own codecs."""
    body, spilled = encode_body(ITEM_ADAPTER.dump_json(item))
    assert spilled is None, "seeded items are small enough to stay in the row"
    return {**item_row(ctx.user_id, thread_id, item), **body, **store.rows.expiry()}


async def seed(store: DynamoDBStore, ctx: RequestContext, thread_id: str, n: int) -> list[ThreadItem]:
    """A thread with ``n`` items written directly with BatchWriteItem (fast set-up for large threads)."""
    await store.save_thread(thread(thread_id), ctx)
    items: list[ThreadItem] = [
        assistant_message(thread_id, new_id("message"), BASE + timedelta(milliseconds=i), f"item {i}")
        for i in range(n)
    ]
    requests: list[WriteRequestTypeDef] = [
        {"PutRequest": {"Item": stored_item_row(store, ctx, thread_id, item)}} for item in items
    ]
    for start in range(0, len(requests), 25):
        store.dynamodb.batch_write_item(RequestItems={store.table: requests[start : start + 25]})
    return items


def ids(page: Page[Any]) -> list[str]:
    return [x.id for x in page.data]


def partition_rows(store: DynamoDBStore, pk: str) -> list[dict[str, Any]]:
    response = store.dynamodb.query(
        TableName=store.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return list(response["Items"])


def s3_keys(store: DynamoDBStore, ctx: RequestContext, area: str = "") -> list[str]:
    """The user's objects in the bucket: spilled bodies (``spill``), uploads (``attachments``) or both."""
    keys: list[str] = []
    for top in [area] if area else ["spill", "attachments"]:
        response = store.s3.list_objects_v2(
            Bucket=store.bucket, Prefix=f"{top}/{quote(ctx.user_id, safe='')}/"
        )
        keys += [o["Key"] for o in response.get("Contents", [])]
    return keys


def incompressible_text(n: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def attachment_params(name: str, size: int, mime: str) -> AttachmentCreateParams:
    return AttachmentCreateParams(name=name, size=size, mime_type=mime)


def race_item_writes(store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch, readers: int) -> list[bool]:
    """Hold every conditional write until ``readers`` reads have happened, then send them one at a time.

    So each caller reads the same version before any of them writes (the race), and the table gets
    DynamoDB's per-item order (moto's server checks conditions without a lock). Returns each write's outcome.
    """
    real = store.rows.replace
    lock = asyncio.Lock()
    arrived = 0
    everyone_read = asyncio.Event()
    outcomes: list[bool] = []

    async def replace(*args: Any, **kwargs: Any) -> bool:
        nonlocal arrived
        arrived += 1
        if arrived >= readers:
            everyone_read.set()
        await everyone_read.wait()
        async with lock:
            outcomes.append(await real(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(store.rows, "replace", replace)
    return outcomes

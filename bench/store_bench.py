"""DynamoDB requests and capacity per ChatKit store operation at thread lengths 10 and 10,000.

    uv run python bench/store_bench.py [--lengths 10 10000] [--env]

Runs against the embedded DynamoDB and S3 (moto on loopback), or with ``--env`` against the tables and
bucket the environment configures (``CHAT_TABLE_NAME``, ``ATTACHMENTS_BUCKET``, endpoints; real AWS
when no endpoint is set), where it also prints the capacity DynamoDB itself reports.

Requests are counted exactly with botocore event hooks on the store's clients (``before-send``: every
HTTP request, retries included). moto reports ``ConsumedCapacity`` but not by item size (a 5 KB put
reports 1 WCU where DynamoDB charges 5), so capacity is computed from the sizes of the rows each
request touches, by DynamoDB's rules:

- reads: ``ceil(total bytes / 4 KB)`` per request (a ``Query`` sums the rows it returns, a ``GetItem``
  charges the whole row even when projected, a miss costs the minimum), halved for eventually
  consistent reads (the ``by_user`` GSI); strongly consistent otherwise, as the store reads;
- writes: ``ceil(row bytes / 1 KB)`` for the table (the larger of old and new row for a put) plus the
  same for every index the row is in (``by_created`` for items, ``by_user`` for threads), twice when
  an index key changes.

Row size is the sum of attribute name and value lengths (UTF-8), as DynamoDB counts it. Threads are
seeded with ``BatchWriteItem`` using the store's own row serialization; items alternate between a
short user message and a ~1 KB assistant answer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.bodies import ITEM_ADAPTER, encode_body
from task_assistant.chat.store.keys import item_row
from task_assistant.context import RequestContext
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

BASE = datetime(2025, 6, 1, 9, 0, 0)
PAGE = 20  # ChatKit's default page size
ANSWER = "Sure. Here is what I would do with your tasks this week: " + "plan, do, review. " * 52

CAPACITY_OPERATIONS = {"GetItem", "Query", "PutItem", "DeleteItem", "BatchWriteItem", "BatchGetItem"}
INDEXED = {"by_created": ("created",), "by_user": ("gsi1pk", "gsi1sk")}


def value_size(value: dict[str, Any]) -> int:
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "B":
        return len(v)
    if kind == "N":
        return math.ceil(len(v.lstrip("-").replace(".", "")) / 2) + 1
    if kind == "BOOL" or kind == "NULL":
        return 1
    raise ValueError(kind)


def row_size(row: dict[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in row.items())


def key_of(row: dict[str, Any]) -> tuple[str, str]:
    return row["pk"]["S"], row["sk"]["S"]


@dataclass
class Meter:
    """Counts requests and computes capacity from the rows each DynamoDB call reads or writes."""

    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    ddb_requests: int = 0
    s3_requests: int = 0
    rcu: float = 0.0
    wcu: float = 0.0
    reported_rcu: float = 0.0
    reported_wcu: float = 0.0
    _last: tuple[str, dict[str, Any]] = ("", {})

    def reset(self) -> None:
        self.ddb_requests = self.s3_requests = 0
        self.rcu = self.wcu = self.reported_rcu = self.reported_wcu = 0.0

    def attach(self, store: DynamoDBStore) -> None:
        store.dynamodb.meta.events.register("before-send.dynamodb.*", self._count_ddb)
        store.s3.meta.events.register("before-send.s3.*", self._count_s3)
        store.dynamodb.meta.events.register("before-parameter-build.dynamodb.*", self._remember)
        store.dynamodb.meta.events.register("after-call.dynamodb.*", self._charge)

    def _count_ddb(self, **_: Any) -> None:
        self.ddb_requests += 1

    def _count_s3(self, **_: Any) -> None:
        self.s3_requests += 1

    def _remember(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in CAPACITY_OPERATIONS:
            # Ask the endpoint too; real DynamoDB answers by item size (moto does not).
            params["ReturnConsumedCapacity"] = "TOTAL"
        self._last = (model.name, dict(params))

    # --- capacity rules -------------------------------------------------------------------------

    # One branch per DynamoDB operation priced, side by side so the capacity rules read as one table.
    def _charge(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:  # noqa: C901, PLR0912
        name, params = self._last
        consumed = parsed.get("ConsumedCapacity") or []
        for c in consumed if isinstance(consumed, list) else [consumed]:
            if name in ("GetItem", "Query", "BatchGetItem"):
                self.reported_rcu += c.get("CapacityUnits", 0.0)
            else:
                self.reported_wcu += c.get("CapacityUnits", 0.0)
        if name == "GetItem":
            row = self.rows.get(key_of(params["Key"]))
            self.rcu += self._read_units(row_size(row) if row else 0, params.get("ConsistentRead", False))
        elif name == "Query":
            total = sum(row_size(self.rows[key_of(r)]) for r in parsed.get("Items", []))
            consistent = params.get("ConsistentRead", False) and params.get("IndexName") != "by_user"
            self.rcu += self._read_units(total, consistent)
        elif name == "PutItem":
            self.wcu += self._write(params["Item"])
        elif name == "DeleteItem":
            self.wcu += self._delete(key_of(params["Key"]))
        elif name == "BatchWriteItem":
            unprocessed = {
                key_of(r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"])
                for reqs in (parsed.get("UnprocessedItems") or {}).values()
                for r in reqs
            }
            for requests in params["RequestItems"].values():
                for r in requests:
                    if "PutRequest" in r:
                        if key_of(r["PutRequest"]["Item"]) not in unprocessed:
                            self.wcu += self._write(r["PutRequest"]["Item"])
                    elif key_of(r["DeleteRequest"]["Key"]) not in unprocessed:
                        self.wcu += self._delete(key_of(r["DeleteRequest"]["Key"]))

    @staticmethod
    def _read_units(size: int, consistent: bool) -> float:
        units = max(1, math.ceil(size / 4096))
        return units if consistent else units / 2

    @staticmethod
    def _kb(size: int) -> int:
        return max(1, math.ceil(size / 1024))

    def _index_entries(self, row: dict[str, Any] | None) -> dict[str, tuple[Any, ...]]:
        if row is None:
            return {}
        return {
            index: tuple(row[a]["S"] for a in attrs)
            for index, attrs in INDEXED.items()
            if all(a in row for a in attrs)
        }

    def _write(self, new: dict[str, Any]) -> int:
        key = key_of(new)
        old = self.rows.get(key)
        units = self._kb(max(row_size(new), row_size(old) if old else 0))
        old_ix, new_ix = self._index_entries(old), self._index_entries(new)
        for index in old_ix.keys() | new_ix.keys():
            if index in new_ix:
                units += self._kb(row_size(new))
            if index in old_ix and old is not None and old_ix[index] != new_ix.get(index):
                units += self._kb(row_size(old))
        self.rows[key] = new
        return units

    def _delete(self, key: tuple[str, str]) -> int:
        old = self.rows.pop(key, None)
        if old is None:
            return 1
        return self._kb(row_size(old)) * (1 + len(self._index_entries(old)))


def user_message(thread_id: str, n: int) -> UserMessageItem:
    return UserMessageItem(
        id=f"msg_u{n:06d}",
        thread_id=thread_id,
        created_at=BASE + timedelta(seconds=n),
        content=[UserMessageTextContent(text=f"Add a task number {n}: water the plants")],
        attachments=[],
        inference_options=InferenceOptions(),
    )


def answer(thread_id: str, n: int) -> AssistantMessageItem:
    return AssistantMessageItem(
        id=f"msg_a{n:06d}",
        thread_id=thread_id,
        created_at=BASE + timedelta(seconds=n),
        content=[AssistantMessageContent(text=ANSWER)],
    )


def item(thread_id: str, n: int) -> ThreadItem:
    return user_message(thread_id, n) if n % 2 == 0 else answer(thread_id, n)


async def seed(store: DynamoDBStore, meter: Meter, ctx: RequestContext, thread_id: str, n: int) -> None:
    """A thread of ``n`` items and 30 other threads, written with BatchWriteItem (25 rows a request)."""
    for t in range(30):
        await store.save_thread(ThreadMetadata(id=f"{thread_id}-other{t:02d}", created_at=BASE), ctx)
    await store.save_thread(ThreadMetadata(id=thread_id, title="Bench", created_at=BASE), ctx)
    rows = []
    for i in range(n):
        seeded = item(thread_id, i)
        body, spilled = encode_body(ITEM_ADAPTER.dump_json(seeded))
        assert spilled is None  # every seeded item fits in its row
        rows.append({**item_row(ctx.user_id, thread_id, seeded), **body, **store.rows.expiry()})
    for start in range(0, len(rows), 25):
        chunk: list[WriteRequestTypeDef] = [{"PutRequest": {"Item": r}} for r in rows[start : start + 25]]
        await asyncio.to_thread(store.dynamodb.batch_write_item, RequestItems={store.table: chunk})
    meter.reset()


Operation = tuple[str, Callable[[], Awaitable[Any]]]


def operations(store: DynamoDBStore, ctx: RequestContext, thread_id: str, n: int) -> list[Operation]:
    middle = item(thread_id, n // 2).id
    new = user_message(thread_id, n + 1)
    # Text compresses well (stays inline, compressed); random base64 does not (goes to S3).
    prose = answer(thread_id, n + 2).model_copy(
        update={"content": [AssistantMessageContent(text=ANSWER * 300)]}
    )
    noise = base64.b64encode(random.Random(n).randbytes(450_000)).decode()
    big = answer(thread_id, n + 3).model_copy(update={"content": [AssistantMessageContent(text=noise)]})
    renamed = ThreadMetadata(id=thread_id, title="Renamed", created_at=BASE)
    return [
        ("load_thread", lambda: store.load_thread(thread_id, ctx)),
        (
            "load_thread_items: first page asc",
            lambda: store.load_thread_items(thread_id, None, PAGE, "asc", ctx),
        ),
        (
            "load_thread_items: newest desc",
            lambda: store.load_thread_items(thread_id, None, PAGE, "desc", ctx),
        ),
        (
            "load_thread_items: page after cursor",
            lambda: store.load_thread_items(thread_id, middle, PAGE, "asc", ctx),
        ),
        ("load_item", lambda: store.load_item(thread_id, middle, ctx)),
        ("add_thread_item (~0.3 KB)", lambda: store.add_thread_item(thread_id, new, ctx)),
        ("save_item (same item)", lambda: store.save_item(thread_id, new, ctx)),
        ("delete_thread_item", lambda: store.delete_thread_item(thread_id, new.id, ctx)),
        ("add_thread_item (330 KB text, zlib inline)", lambda: store.add_thread_item(thread_id, prose, ctx)),
        ("load_item (zlib inline)", lambda: store.load_item(thread_id, prose.id, ctx)),
        ("delete_thread_item (zlib inline)", lambda: store.delete_thread_item(thread_id, prose.id, ctx)),
        ("add_thread_item (600 KB random, spills to S3)", lambda: store.add_thread_item(thread_id, big, ctx)),
        ("load_item (spilled)", lambda: store.load_item(thread_id, big.id, ctx)),
        ("delete_thread_item (spilled)", lambda: store.delete_thread_item(thread_id, big.id, ctx)),
        ("load_threads (20 of 31)", lambda: store.load_threads(PAGE, None, "desc", ctx)),
        ("save_thread (rename)", lambda: store.save_thread(renamed, ctx)),
        ("delete_thread (whole thread)", lambda: store.delete_thread(thread_id, ctx)),
    ]


async def measure(
    store: DynamoDBStore, meter: Meter, lengths: list[int]
) -> dict[int, dict[str, tuple[Any, ...]]]:
    results: dict[int, dict[str, tuple[Any, ...]]] = {}
    for n in lengths:
        ctx = RequestContext(user_id=f"bench-{n}")
        thread_id = f"thr_bench{n}"
        started = time.perf_counter()
        await seed(store, meter, ctx, thread_id, n)
        print(f"seeded {n:,} items in {time.perf_counter() - started:.1f} s")
        results[n] = {}
        for name, call in operations(store, ctx, thread_id, n):
            meter.reset()
            await call()
            results[n][name] = (
                meter.ddb_requests,
                meter.s3_requests,
                meter.rcu,
                meter.wcu,
                meter.reported_rcu,
                meter.reported_wcu,
            )
    return results


def fmt(x: float) -> str:
    return f"{x:g}"


def table(results: dict[int, dict[str, tuple[Any, ...]]], reported: bool) -> str:
    lengths = sorted(results)
    names = list(results[lengths[0]])
    columns = ["DDB req", "RCU", "WCU", "S3 req"] + (["reported RCU", "reported WCU"] if reported else [])
    head = "| operation | " + " | ".join(f"{c} @{n:,}" for n in lengths for c in columns)
    lines = [head + " |", "|" + "---|" * (1 + len(columns) * len(lengths))]
    for name in names:
        cells = []
        for n in lengths:
            ddb, s3, rcu, wcu, r_rcu, r_wcu = results[n][name]
            cells += [str(ddb), fmt(rcu), fmt(wcu), str(s3)]
            if reported:
                cells += [fmt(r_rcu), fmt(r_wcu)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument(
        "--env",
        action="store_true",
        help="use the tables and bucket the environment configures (e.g. real AWS) instead of embedded ones; "
        "adds the capacity the endpoint reports (ReturnConsumedCapacity) to the table",
    )
    args = parser.parse_args()
    meter = Meter()
    if args.env:
        store = DynamoDBStore(get_settings())
        meter.attach(store)
        results = asyncio.run(measure(store, meter, args.lengths))
    else:
        with EmbeddedAWS(prefix="bench") as aws:
            store = DynamoDBStore(aws.settings())
            meter.attach(store)
            results = asyncio.run(measure(store, meter, args.lengths))
    print()
    print(table(results, reported=args.env))


if __name__ == "__main__":
    main()

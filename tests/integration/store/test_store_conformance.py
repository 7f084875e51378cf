"""DynamoDBStore against ChatKit's Store contract, one test per property, on the embedded DynamoDB/S3."""

from __future__ import annotations

import inspect
import random
import re
import string
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from chatkit.store import AttachmentStore, NotFoundError, Store
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    FileAttachment,
    ImageAttachment,
    Page,
    Thread,
    ThreadItem,
    ThreadMetadata,
)
from pydantic import AnyUrl
from store_samples import (
    BASE,
    all_item_types,
    assistant_message,
    file_attachment,
    image_attachment,
    sample_items,
    user_message,
)

import task_assistant.chat.store as store_module
from conftest import EventHooks, RequestLog
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.ids import ID_PATTERN, ID_PREFIXES, new_id
from task_assistant.chat.store import (
    DynamoDBStore,
    attachment_object_key,
    attachment_pk,
    item_spill_key,
    thread_pk,
)
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

APP_PACKAGE = Path(__file__).resolve().parents[3] / "functions" / "task_assistant"


def thread(thread_id: str, created_at: datetime = BASE, title: str | None = "t") -> ThreadMetadata:
    return ThreadMetadata(id=thread_id, title=title, created_at=created_at, metadata={"k": "v"})


async def seed(store: DynamoDBStore, ctx: RequestContext, thread_id: str, n: int) -> list[ThreadItem]:
    """A thread with ``n`` items written directly with BatchWriteItem (fast set-up for large threads)."""
    await store.save_thread(thread(thread_id), ctx)
    items: list[ThreadItem] = [
        assistant_message(thread_id, new_id("message"), BASE + timedelta(milliseconds=i), f"item {i}")
        for i in range(n)
    ]
    requests: list[WriteRequestTypeDef] = []
    for item in items:
        row, payload = store.item_row(thread_id, item, ctx)
        requests.append({"PutRequest": {"Item": store.inline_row(row, payload)}})
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


# --- contract shape ---------------------------------------------------------------------------------


def test_method_signatures_match_the_base_classes() -> None:
    # ChatKit calls the store with keyword arguments, so the parameter names must be the base class's.
    for base, impl in ((Store, DynamoDBStore), (AttachmentStore, S3AttachmentStore)):
        for name, member in inspect.getmembers(base, inspect.isfunction):
            if name.startswith("_"):
                continue
            expected = list(inspect.signature(member).parameters)
            actual = list(inspect.signature(getattr(impl, name)).parameters)
            assert actual == expected, f"{impl.__name__}.{name}{actual} != {expected}"
    assert not getattr(DynamoDBStore, "__abstractmethods__", None)


def test_no_scan_anywhere_in_the_application() -> None:
    # local/ is laptop tooling (it snapshots the embedded tables to disk); it never serves a request.
    offenders = [
        str(path.relative_to(APP_PACKAGE))
        for path in APP_PACKAGE.rglob("*.py")
        if path.relative_to(APP_PACKAGE).parts[0] != "local"
        and re.search(r"\.scan\(|[\"']Scan[\"']|paginator\([\"']scan", path.read_text())
    ]
    assert offenders == []


# --- isolation --------------------------------------------------------------------------------------


async def test_isolation_threads(store: DynamoDBStore, alice: RequestContext, bob: RequestContext) -> None:
    await store.save_thread(thread("thr_shared", title="alice's"), alice)
    await store.add_thread_item("thr_shared", user_message("thr_shared", "msg_a", BASE), alice)

    with pytest.raises(NotFoundError) as foreign:
        await store.load_thread("thr_shared", bob)
    with pytest.raises(NotFoundError) as missing:
        await store.load_thread("thr_never", bob)
    assert type(foreign.value) is type(missing.value)
    assert str(foreign.value) == str(missing.value).replace("thr_never", "thr_shared")
    assert (await store.load_threads(10, None, "desc", bob)).data == []
    with pytest.raises(NotFoundError):  # a foreign thread is no cursor either
        await store.load_threads(10, "thr_shared", "desc", bob)

    # Bob's writes and deletes under the same id touch only his own namespace.
    await store.save_thread(thread("thr_shared", title="bob's"), bob)
    await store.delete_thread("thr_shared", bob)
    assert (await store.load_thread("thr_shared", alice)).title == "alice's"
    assert ids(await store.load_thread_items("thr_shared", None, 10, "asc", alice)) == ["msg_a"]
    assert ids(await store.load_threads(10, None, "desc", alice)) == ["thr_shared"]


async def test_isolation_items(store: DynamoDBStore, alice: RequestContext, bob: RequestContext) -> None:
    await store.save_thread(thread("thr_a"), alice)
    original = user_message("thr_a", "msg_1", BASE, "alice's secret")
    await store.add_thread_item("thr_a", original, alice)

    with pytest.raises(NotFoundError):
        await store.load_item("thr_a", "msg_1", bob)
    with pytest.raises(NotFoundError):
        await store.load_item("thr_a", "msg_missing", alice)
    page = await store.load_thread_items("thr_a", None, 10, "desc", bob)
    assert page == Page(data=[], has_more=False, after=None)
    assert await store.load_thread_items("thr_nope", None, 10, "desc", alice) == page
    with pytest.raises(NotFoundError):
        await store.load_thread_items("thr_a", "msg_1", 10, "asc", bob)

    await store.delete_thread_item("thr_a", "msg_1", bob)
    await store.save_item("thr_a", user_message("thr_a", "msg_1", BASE, "overwritten?"), bob)
    assert await store.load_item("thr_a", "msg_1", alice) == original
    assert (await store.load_thread_items("thr_a", None, 10, "asc", alice)).data == [original]


async def test_isolation_attachments(
    store: DynamoDBStore,
    attachment_store: S3AttachmentStore,
    alice: RequestContext,
    bob: RequestContext,
) -> None:
    attachment = file_attachment()
    await store.save_attachment(attachment, alice)

    with pytest.raises(NotFoundError):
        await store.load_attachment(attachment.id, bob)
    with pytest.raises(NotFoundError):
        await attachment_store.delete_attachment(attachment.id, bob)
    with pytest.raises(NotFoundError):
        await attachment_store.read_bytes(attachment.id, bob)
    await store.delete_attachment(attachment.id, bob)  # silently nothing: not his
    assert await store.load_attachment(attachment.id, alice) == attachment
    # Object keys are derived from the verified user, never shared.
    assert attachment_object_key(alice.user_id, "x") != attachment_object_key(bob.user_id, "x")


# --- pagination semantics ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_after_is_an_exclusive_cursor_in_the_requested_order(
    store: DynamoDBStore, alice: RequestContext, order: str
) -> None:
    items = [user_message("thr_p", f"msg_{i}", BASE + timedelta(seconds=i)) for i in range(7)]
    await store.save_thread(thread("thr_p"), alice)
    for item in random.Random(1).sample(items, len(items)):
        await store.add_thread_item("thr_p", item, alice)
    expected = [i.id for i in items] if order == "asc" else [i.id for i in reversed(items)]

    pages = []
    after = None
    while True:
        page = await store.load_thread_items("thr_p", after, 3, order, alice)
        pages.append(ids(page))
        if not page.has_more:
            break
        assert page.after == page.data[-1].id
        after = page.after
    assert pages == [expected[0:3], expected[3:6], expected[6:7]]

    # Starting from any item returns exactly what follows it in that order.
    for position, cursor in enumerate(expected):
        page = await store.load_thread_items("thr_p", cursor, 100, order, alice)
        assert ids(page) == expected[position + 1 :]


async def test_has_more_and_after_rules(store: DynamoDBStore, alice: RequestContext) -> None:
    await store.save_thread(thread("thr_h"), alice)
    assert await store.load_thread_items("thr_h", None, 5, "asc", alice) == Page(
        data=[], has_more=False, after=None
    )
    for i in range(6):
        await store.add_thread_item(
            "thr_h", user_message("thr_h", f"msg_{i}", BASE + timedelta(seconds=i)), alice
        )

    first = await store.load_thread_items("thr_h", None, 3, "asc", alice)
    assert (ids(first), first.has_more, first.after) == (["msg_0", "msg_1", "msg_2"], True, "msg_2")
    # Exactly the last page: no more, and no cursor (a cursor with has_more=False is never followed).
    last = await store.load_thread_items("thr_h", first.after, 3, "asc", alice)
    assert (ids(last), last.has_more, last.after) == (["msg_3", "msg_4", "msg_5"], False, None)
    whole = await store.load_thread_items("thr_h", None, 6, "desc", alice)
    assert (whole.has_more, whole.after) == (False, None)
    beyond = await store.load_thread_items("thr_h", "msg_5", 3, "asc", alice)
    assert beyond == Page(data=[], has_more=False, after=None)
    with pytest.raises(NotFoundError):
        await store.load_thread_items("thr_h", "msg_unknown", 3, "asc", alice)
    with pytest.raises(ValueError, match="order"):
        await store.load_thread_items("thr_h", None, 3, "sideways", alice)


async def test_limits_are_capped(
    settings: Settings, store: DynamoDBStore, ddb_log: RequestLog, alice: RequestContext
) -> None:
    cap = settings.page_size_cap
    await seed(store, alice, "thr_big", cap + 20)
    for i in range(cap + 5):
        await store.save_thread(thread(f"thr_{i:04d}", BASE + timedelta(seconds=i)), alice)
    ddb_log.clear()

    items = await store.load_thread_items("thr_big", None, 10**9, "asc", alice)
    threads = await store.load_threads(10**9, None, "desc", alice)
    tiny = await store.load_thread_items("thr_big", None, -3, "asc", alice)
    assert (len(items.data), items.has_more) == (cap, True)
    assert (len(threads.data), threads.has_more) == (cap, True)
    assert len(tiny.data) == 1
    limits = [params["Limit"] for name, params in ddb_log.calls if name == "Query"]
    assert limits and max(limits) == cap + 1


# --- upserts and thread metadata --------------------------------------------------------------------


async def test_add_save_and_attachment_writes_are_upserts(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    await store.save_thread(thread("thr_u"), alice)
    first = assistant_message("thr_u", "wf_same", BASE, "v1")
    await store.add_thread_item("thr_u", first, alice)
    second = assistant_message("thr_u", "wf_same", BASE, "v2")
    await store.add_thread_item("thr_u", second, alice)  # a workflow item can be added twice
    assert (await store.load_thread_items("thr_u", None, 10, "asc", alice)).data == [second]

    fresh = assistant_message("thr_u", "msg_new", BASE + timedelta(seconds=1), "saved first")
    await store.save_item("thr_u", fresh, alice)  # save_item of an unknown id inserts
    third = assistant_message("thr_u", "wf_same", BASE, "v3")
    await store.save_item("thr_u", third, alice)
    assert (await store.load_thread_items("thr_u", None, 10, "asc", alice)).data == [third, fresh]

    attachment = file_attachment()
    await store.save_attachment(attachment, alice)
    updated = attachment.model_copy(update={"thread_id": "thr_u", "upload_descriptor": None})
    await store.save_attachment(updated, alice)
    assert await store.load_attachment(attachment.id, alice) == updated


async def test_save_thread_given_a_thread_persists_only_metadata(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    item = user_message("thr_full", "msg_1", BASE)
    full = Thread(
        id="thr_full",
        title="With items",
        created_at=BASE,
        metadata={"previous_response_id": "resp_9"},
        items=Page(data=[item], has_more=False),
    )
    await store.save_thread(full, alice)

    loaded = await store.load_thread("thr_full", alice)
    assert type(loaded) is ThreadMetadata
    assert loaded == ThreadMetadata(
        id="thr_full", title="With items", created_at=BASE, metadata={"previous_response_id": "resp_9"}
    )
    # What ChatKit's threads.get_by_id does next must work (it fails if `items` was stored).
    Thread(**loaded.model_dump(), items=Page())
    assert (await store.load_threads(10, None, "desc", alice)).data == [loaded]
    # The items of the Thread were not written as items.
    assert (await store.load_thread_items("thr_full", None, 10, "asc", alice)).data == []


# --- ordering ---------------------------------------------------------------------------------------


async def test_items_ordered_by_created_at_with_id_tie_break(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    await store.save_thread(thread("thr_o"), alice)
    same = BASE + timedelta(seconds=5)
    items = [
        assistant_message("thr_o", "msg_zzz", BASE, "oldest, yet the largest id"),
        assistant_message("thr_o", "msg_b", same, "tie 1"),
        assistant_message("thr_o", "msg_c", same, "tie 2"),
        assistant_message("thr_o", "msg_d", same, "tie 3"),
        assistant_message("thr_o", "msg_a", BASE + timedelta(seconds=5, microseconds=1), "1 µs later"),
        assistant_message("thr_o", "msg_0", BASE + timedelta(days=400), "next year"),
    ]
    for item in [items[3], items[5], items[1], items[4], items[0], items[2]]:
        await store.add_thread_item("thr_o", item, alice)

    assert (await store.load_thread_items("thr_o", None, 10, "asc", alice)).data == items
    assert (await store.load_thread_items("thr_o", None, 10, "desc", alice)).data == items[::-1]
    # The tie-break is stable across page boundaries too.
    page = await store.load_thread_items("thr_o", "msg_b", 1, "asc", alice)
    assert ids(page) == ["msg_c"]
    page = await store.load_thread_items("thr_o", "msg_d", 2, "desc", alice)
    assert ids(page) == ["msg_c", "msg_b"]


async def test_threads_listed_by_creation_time(store: DynamoDBStore, alice: RequestContext) -> None:
    created = {f"thr_{c}": BASE + timedelta(minutes=n) for n, c in enumerate("qwertyui")}
    created["thr_tie"] = created["thr_e"]  # same instant: the id decides
    for thread_id in random.Random(3).sample(sorted(created), len(created)):
        await store.save_thread(thread(thread_id, created[thread_id]), alice)
    expected_asc = sorted(created, key=lambda t: (created[t], t))

    # Renaming a thread does not move it.
    await store.save_thread(thread("thr_q", created["thr_q"], title="renamed"), alice)

    for order, expected in (("asc", expected_asc), ("desc", expected_asc[::-1])):
        seen: list[str] = []
        after = None
        while True:
            page = await store.load_threads(4, after, order, alice)
            seen += ids(page)
            if not page.has_more:
                assert page.after is None
                break
            assert page.after == page.data[-1].id
            after = page.after
        assert seen == expected
    assert (await store.load_thread("thr_q", alice)).title == "renamed"


# --- lossless round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("item", sample_items("thr_rt"), ids=lambda i: f"{i.type}:{i.id}")
async def test_every_item_type_round_trips(
    store: DynamoDBStore, alice: RequestContext, item: ThreadItem
) -> None:
    await store.save_thread(thread("thr_rt"), alice)
    await store.add_thread_item("thr_rt", item, alice)
    loaded = await store.load_item("thr_rt", item.id, alice)
    assert type(loaded) is type(item)
    assert loaded == item
    assert loaded.model_dump_json() == item.model_dump_json()
    assert (await store.load_thread_items("thr_rt", None, 5, "desc", alice)).data == [item]


def test_samples_cover_every_thread_item_type() -> None:
    assert {type(i) for i in sample_items()} == all_item_types()


async def test_whole_sample_thread_round_trips_in_order(store: DynamoDBStore, alice: RequestContext) -> None:
    items = sample_items("thr_all")
    await store.save_thread(thread("thr_all"), alice)
    for item in reversed(items):
        await store.add_thread_item("thr_all", item, alice)
    # The timezone-aware item (16:00+02:00 = 14:00 UTC) sorts before the naive 15:09 ones.
    expected = [items[-1], *items[:-1]]
    assert (await store.load_thread_items("thr_all", None, 100, "asc", alice)).data == expected


async def test_naive_datetimes_stay_naive(store: DynamoDBStore, alice: RequestContext) -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, 678901)
    meta = thread("thr_naive", moment)
    await store.save_thread(meta, alice)
    await store.add_thread_item("thr_naive", user_message("thr_naive", "msg_n", moment), alice)
    midnight = datetime(2025, 1, 2)  # no microseconds: still sorts and round-trips exactly
    await store.add_thread_item("thr_naive", user_message("thr_naive", "msg_m", midnight), alice)

    loaded_thread = await store.load_thread("thr_naive", alice)
    loaded = await store.load_thread_items("thr_naive", None, 10, "asc", alice)
    assert loaded_thread.created_at == moment and loaded_thread.created_at.tzinfo is None
    assert [(i.id, i.created_at, i.created_at.tzinfo) for i in loaded.data] == [
        ("msg_m", midnight, None),
        ("msg_n", moment, None),
    ]


async def test_attachment_metadata_round_trips(store: DynamoDBStore, alice: RequestContext) -> None:
    from chatkit.types import AttachmentUploadDescriptor

    with_upload = FileAttachment(
        id="atc_up",
        name="notes.txt",
        mime_type="text/plain",
        upload_descriptor=AttachmentUploadDescriptor(
            url=AnyUrl("https://bucket.s3.amazonaws.com/k?X-Amz-Signature=a%2Fb"),
            method="PUT",
            headers={"Content-Type": "text/plain"},
        ),
        metadata={"size": 5, "deep": {"list": [1, None, "x"]}},
    )
    for attachment in (file_attachment("thr_x"), image_attachment(), with_upload):
        await store.save_attachment(attachment, alice)
        loaded = await store.load_attachment(attachment.id, alice)
        assert loaded == attachment and type(loaded) is type(attachment)
        assert loaded.model_dump_json() == attachment.model_dump_json()
    assert isinstance(await store.load_attachment("atc_image", alice), ImageAttachment)


# --- ids --------------------------------------------------------------------------------------------


def test_ids_are_collision_proof_and_keep_chatkit_prefixes(settings: Settings, store: DynamoDBStore) -> None:
    generated = [new_id("message") for _ in range(100_000)]
    assert len(set(generated)) == len(generated)
    assert all(ID_PATTERN.match(i) for i in generated)

    ctx = RequestContext(user_id="u")
    meta = thread("thr_x")
    assert re.fullmatch(r"thr_[0-9A-Z]{26}", store.generate_thread_id(ctx))
    for kind, prefix in ID_PREFIXES.items():
        if kind in ("thread", "attachment"):
            continue
        assert store.generate_item_id(kind, meta, ctx).startswith(prefix + "_")
    attachment_id = S3AttachmentStore(settings, store, s3=store.s3).generate_attachment_id("image/png", ctx)
    assert re.fullmatch(r"atc_[0-9A-Z]{26}", attachment_id)


# --- bounded work -----------------------------------------------------------------------------------


async def _operation_costs(
    store: DynamoDBStore, log: RequestLog, ctx: RequestContext, n: int
) -> dict[str, Any]:
    thread_id = f"thr_len{n}"
    items = await seed(store, ctx, thread_id, n)
    middle = items[n // 2].id
    newest = assistant_message(thread_id, "msg_newest", BASE + timedelta(days=1), "new")
    costs: dict[str, Any] = {}

    async def measure(name: str, call: Any) -> None:
        log.clear()
        await call
        costs[name] = log.counts()
        costs[name + ".limits"] = sorted(p.get("Limit", 0) for op, p in log.calls if op == "Query")

    await measure("load_thread", store.load_thread(thread_id, ctx))
    await measure("first_page_asc", store.load_thread_items(thread_id, None, 20, "asc", ctx))
    await measure("newest_desc", store.load_thread_items(thread_id, None, 20, "desc", ctx))
    await measure("cursor_page", store.load_thread_items(thread_id, middle, 20, "asc", ctx))
    await measure("load_item", store.load_item(thread_id, middle, ctx))
    await measure("add_thread_item", store.add_thread_item(thread_id, newest, ctx))
    await measure("save_item", store.save_item(thread_id, newest, ctx))
    await measure("load_threads", store.load_threads(20, None, "desc", ctx))
    await measure("save_thread", store.save_thread(thread(thread_id, title="renamed"), ctx))
    await measure("delete_thread_item", store.delete_thread_item(thread_id, "msg_newest", ctx))
    return costs


async def test_reads_are_bounded_and_cost_the_same_at_10_and_1000_items(
    store: DynamoDBStore, ddb_log: RequestLog, alice: RequestContext
) -> None:
    small = await _operation_costs(store, ddb_log, alice, 10)
    large = await _operation_costs(store, ddb_log, alice, 1000)
    assert small == large
    assert small["newest_desc"] == {"Query": 1}
    assert small["first_page_asc"] == {"Query": 1}
    assert small["cursor_page"] == {"GetItem": 1, "Query": 1}
    assert small["add_thread_item"] == {"PutItem": 1}
    assert small["load_threads"] == {"Query": 1}
    assert small["newest_desc.limits"] == [21]
    everything = {op for counts in large.values() if isinstance(counts, dict) for op in counts}
    assert everything <= {"GetItem", "Query", "PutItem", "DeleteItem"}


# --- deletion ---------------------------------------------------------------------------------------


async def test_delete_thread_leaves_no_orphans(
    store: DynamoDBStore,
    attachment_store: S3AttachmentStore,
    ddb_log: RequestLog,
    alice: RequestContext,
    bob: RequestContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small query pages so the delete must page through the partition.
    monkeypatch.setattr(store_module, "DELETE_PAGE", 7)
    await seed(store, alice, "thr_del", 60)
    big = assistant_message("thr_del", "msg_big", BASE, incompressible_text(700_000))
    await store.add_thread_item("thr_del", big, alice)
    attached = []
    for n in range(3):
        created = await attachment_store.create_attachment(_params(f"f{n}.txt", 5, "text/plain"), alice)
        store.s3.put_object(
            Bucket=store.bucket, Key=attachment_object_key(alice.user_id, created.id), Body=b"hello"
        )
        attached.append(created.model_copy(update={"thread_id": "thr_del"}))
        await store.save_attachment(attached[-1], alice)
    # Neighbours that must survive: another thread of Alice's and Bob's thread of the same id.
    await seed(store, alice, "thr_keep", 3)
    await seed(store, bob, "thr_del", 4)
    assert len(s3_keys(store, alice, "spill")) == 1

    ddb_log.clear()
    await store.delete_thread("thr_del", alice)
    calls = list(ddb_log.calls)

    assert partition_rows(store, thread_pk(alice.user_id, "thr_del")) == []
    for a in attached:
        assert partition_rows(store, attachment_pk(alice.user_id, a.id)) == []
        with pytest.raises(NotFoundError):
            await store.load_attachment(a.id, alice)
    assert s3_keys(store, alice) == []
    with pytest.raises(NotFoundError):
        await store.load_thread("thr_del", alice)
    # 61 items + 3 references + the thread row, 7 per page; each page's rows in one batch.
    assert [n for n, _ in calls].count("Query") == 10
    batches = [len(p["RequestItems"][store.table]) for n, p in calls if n == "BatchWriteItem"]
    assert sum(batches) == 61 + 3 + 3 and max(batches) <= 25
    assert {n for n, _ in calls} == {"Query", "BatchWriteItem", "DeleteItem"}
    assert len(partition_rows(store, thread_pk(alice.user_id, "thr_keep"))) == 4
    assert len(partition_rows(store, thread_pk(bob.user_id, "thr_del"))) == 5


async def test_delete_thread_retries_unprocessed_items(
    store: DynamoDBStore, events: EventHooks, ddb_log: RequestLog, alice: RequestContext
) -> None:
    await seed(store, alice, "thr_retry", 30)
    log = ddb_log
    log.clear()
    throttled: list[bool] = []

    def pretend_throttled(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        # DynamoDB may accept part of a batch; report the first batch's last 5 deletes as unprocessed.
        if model.name == "BatchWriteItem" and not throttled:
            throttled.append(True)
            requests = log.calls[-1][1]["RequestItems"][store.table]
            parsed["UnprocessedItems"] = {store.table: requests[-5:]}

    events.register("after-call.dynamodb.BatchWriteItem", pretend_throttled)
    await store.delete_thread("thr_retry", alice)
    batches = [p["RequestItems"][store.table] for n, p in log.calls if n == "BatchWriteItem"]
    assert [len(b) for b in batches] == [25, 5, 5]
    assert partition_rows(store, thread_pk(alice.user_id, "thr_retry")) == []


# --- large items ------------------------------------------------------------------------------------


async def test_items_over_400kb_round_trip_and_spill_is_cleaned_up(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    await store.save_thread(thread("thr_large"), alice)
    compressible = assistant_message("thr_large", "msg_repetitive", BASE, "all work and no play " * 30_000)
    huge = assistant_message(
        "thr_large", "msg_huge", BASE + timedelta(seconds=1), incompressible_text(1_200_000)
    )
    for item in (compressible, huge):
        await store.add_thread_item("thr_large", item, alice)
    assert len(compressible.model_dump_json()) > 600_000

    rows = {r["sk"]["S"]: r for r in partition_rows(store, thread_pk(alice.user_id, "thr_large"))}
    assert "bodyz" in rows["ITEM#msg_repetitive"] and "spill" not in rows["ITEM#msg_repetitive"]
    spill_key = item_spill_key(alice.user_id, "thr_large", "msg_huge")
    assert rows["ITEM#msg_huge"]["spill"]["S"] == spill_key
    assert s3_keys(store, alice, "spill") == [spill_key]

    assert await store.load_item("thr_large", "msg_huge", alice) == huge
    assert await store.load_item("thr_large", "msg_repetitive", alice) == compressible
    assert (await store.load_thread_items("thr_large", None, 10, "asc", alice)).data == [compressible, huge]

    # Rewritten small: the spilled object goes away.
    small = huge.model_copy(update={"content": [AssistantMessageContent(text="short now")]})
    await store.save_item("thr_large", small, alice)
    assert s3_keys(store, alice, "spill") == []
    assert await store.load_item("thr_large", "msg_huge", alice) == small
    # Big again, then deleted: gone again.
    await store.save_item("thr_large", huge, alice)
    assert s3_keys(store, alice, "spill") == [spill_key]
    await store.delete_thread_item("thr_large", "msg_huge", alice)
    assert s3_keys(store, alice, "spill") == []
    with pytest.raises(NotFoundError):
        await store.load_item("thr_large", "msg_huge", alice)


async def test_large_thread_metadata_round_trips(store: DynamoDBStore, alice: RequestContext) -> None:
    meta = ThreadMetadata(
        id="thr_meta", created_at=BASE, metadata={"blob": incompressible_text(500_000, seed=3)}
    )
    await store.save_thread(meta, alice)
    assert await store.load_thread("thr_meta", alice) == meta
    assert (await store.load_threads(5, None, "asc", alice)).data == [meta]
    await store.delete_thread("thr_meta", alice)
    assert s3_keys(store, alice) == []


# --- TTL --------------------------------------------------------------------------------------------


async def test_optional_ttl_sets_expires_at(
    settings: Settings, store: DynamoDBStore, alice: RequestContext
) -> None:
    plain = store
    await plain.save_thread(thread("thr_keep"), alice)
    assert "expires_at" not in partition_rows(plain, thread_pk(alice.user_id, "thr_keep"))[0]

    expiring = DynamoDBStore(
        settings.model_copy(update={"item_ttl_days": 7}), dynamodb=store.dynamodb, s3=store.s3
    )
    await expiring.save_thread(thread("thr_ttl"), alice)
    await expiring.add_thread_item("thr_ttl", user_message("thr_ttl", "msg_1", BASE), alice)
    await expiring.save_attachment(file_attachment("thr_ttl"), alice)
    rows = partition_rows(expiring, thread_pk(alice.user_id, "thr_ttl"))
    rows += partition_rows(expiring, attachment_pk(alice.user_id, "atc_file"))
    assert len(rows) == 4
    week = 7 * 86400
    for row in rows:
        assert abs(int(row["expires_at"]["N"]) - (time.time() + week)) < 120
    ttl = plain.dynamodb.describe_time_to_live(TableName=settings.chat_table_name)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def _params(name: str, size: int, mime: str) -> Any:
    from chatkit.types import AttachmentCreateParams

    return AttachmentCreateParams(name=name, size=size, mime_type=mime)


async def test_assistant_message_ids_from_the_model_need_not_be_time_sortable(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    # Model ids (msg_<hex>) are random; a ULID generated later must still sort after by created_at.
    await store.save_thread(thread("thr_m"), alice)
    early = AssistantMessageItem(
        id="msg_ffffffffffffffff",
        thread_id="thr_m",
        created_at=BASE,
        content=[AssistantMessageContent(text="a")],
    )
    late = user_message("thr_m", new_id("message"), BASE + timedelta(milliseconds=1))
    await store.add_thread_item("thr_m", late, alice)
    await store.add_thread_item("thr_m", early, alice)
    assert ids(await store.load_thread_items("thr_m", None, 1, "desc", alice)) == [late.id]


async def test_ids_dynamodb_cannot_key_are_rejected_or_missing(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    too_long = "thr_" + "é" * 300  # 604 bytes: over the store's 512-byte id limit
    with pytest.raises(ValueError, match="at most 512 bytes"):
        await store.save_thread(thread(too_long), alice)
    with pytest.raises(ValueError, match="item id"):
        await store.add_thread_item("thr_ok", user_message("thr_ok", "", BASE), alice)
    # Reads of such ids are simply misses, like any id the caller does not own.
    with pytest.raises(NotFoundError):
        await store.load_thread(too_long, alice)
    with pytest.raises(NotFoundError):
        await store.load_item("thr_ok", too_long, alice)
    assert (await store.load_thread_items(too_long, None, 5, "asc", alice)).data == []
    await store.delete_thread(too_long, alice)

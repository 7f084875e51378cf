"""Deleting leaves nothing behind, bodies over 400 KB round-trip through S3, rows can expire."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    ThreadMetadata,
)

from support.store import (
    EventHooks,
    RequestLog,
    attachment_params,
    incompressible_text,
    partition_rows,
    s3_keys,
    seed,
    thread,
)
from support.store_samples import (
    BASE,
    assistant_message,
    file_attachment,
    user_message,
)
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.store import DynamoDBStore, table
from task_assistant.chat.store.keys import attachment_object_key, attachment_pk, item_spill_key, thread_pk
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

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
    monkeypatch.setattr(table, "PARTITION_PAGE", 7)
    await seed(store, alice, "thr_del", 60)
    big = assistant_message("thr_del", "msg_big", BASE, incompressible_text(700_000))
    await store.add_thread_item("thr_del", big, alice)
    attached = []
    for n in range(3):
        params = attachment_params(f"f{n}.txt", 5, "text/plain")
        created = await attachment_store.create_attachment(params, alice)
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

"""Writes are upserts and every stored model reads back exactly as it was written."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from chatkit.types import (
    FileAttachment,
    ImageAttachment,
    Page,
    Thread,
    ThreadItem,
    ThreadMetadata,
)
from pydantic import AnyUrl

from support.store import (
    thread,
)
from support.store_samples import (
    BASE,
    all_item_types,
    assistant_message,
    file_attachment,
    image_attachment,
    sample_items,
    user_message,
)
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext

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

"""One user's threads, items and attachments are invisible and untouchable to another."""

from __future__ import annotations

import pytest
from chatkit.store import NotFoundError
from chatkit.types import (
    Page,
)

from support.store import (
    ids,
    thread,
)
from support.store_samples import (
    BASE,
    file_attachment,
    user_message,
)
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.keys import attachment_object_key
from task_assistant.context import RequestContext

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

"""Two-phase attachment upload against the embedded S3: create -> PUT -> GET -> delete, over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest
from chatkit.store import NotFoundError
from chatkit.types import AttachmentCreateParams, FileAttachment, ImageAttachment

from support.store_samples import BASE, user_message
from task_assistant.chat.attachments import AttachmentRejectedError, S3AttachmentStore
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.dynamodb_store import UNATTACHED_TTL_SECONDS
from task_assistant.chat.store.keys import attachment_key, attachment_object_key
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def object_exists(store: DynamoDBStore, key: str) -> bool:
    listing = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=key)
    return any(o["Key"] == key for o in listing.get("Contents", []))


async def test_two_phase_upload_preview_and_delete(
    store: DynamoDBStore, attachment_store: S3AttachmentStore, alice: RequestContext
) -> None:
    params = AttachmentCreateParams(name="whiteboard.png", size=len(PNG), mime_type="image/png")
    attachment = await attachment_store.create_attachment(params, alice)

    assert isinstance(attachment, ImageAttachment)
    assert attachment.id.startswith("atc_")
    descriptor = attachment.upload_descriptor
    assert descriptor is not None and descriptor.method == "PUT"
    assert descriptor.headers == {"Content-Type": "image/png"}
    assert "X-Amz-Signature=" in str(descriptor.url)
    # Metadata is in the table already (the server saves it again; that is an upsert).
    assert await store.load_attachment(attachment.id, alice) == attachment

    async with httpx.AsyncClient() as http:
        put = await http.put(str(descriptor.url), content=PNG, headers=descriptor.headers)
        assert put.status_code == 200, put.text
        preview = await http.get(str(attachment.preview_url))
        assert (preview.status_code, preview.content) == (200, PNG)
        fresh = await attachment_store.presigned_get_url(attachment, alice)
        assert (await http.get(fresh)).content == PNG
    assert await attachment_store.read_bytes(attachment.id, alice) == PNG
    key = attachment_object_key(alice.user_id, attachment.id)
    head = store.s3.head_object(Bucket=store.bucket, Key=key)
    assert head["ContentType"] == "image/png"

    await attachment_store.delete_attachment(attachment.id, alice)
    await store.delete_attachment(attachment.id, alice)  # what the server calls next: a no-op now
    assert not object_exists(store, key)
    with pytest.raises(NotFoundError):
        await store.load_attachment(attachment.id, alice)
    with pytest.raises(NotFoundError):
        await attachment_store.delete_attachment(attachment.id, alice)


async def test_file_attachment_has_no_preview_and_reads_back(
    attachment_store: S3AttachmentStore, alice: RequestContext, bob: RequestContext
) -> None:
    body = b"buy milk\npay rent\n"
    attachment = await attachment_store.create_attachment(
        AttachmentCreateParams(name="todo.txt", size=len(body), mime_type="text/plain"), alice
    )
    assert isinstance(attachment, FileAttachment)
    with pytest.raises(NotFoundError):  # registered, not uploaded yet
        await attachment_store.read_bytes(attachment.id, alice)
    assert attachment.upload_descriptor is not None
    async with httpx.AsyncClient() as http:
        put = await http.put(
            str(attachment.upload_descriptor.url), content=body, headers=attachment.upload_descriptor.headers
        )
        assert put.status_code == 200
    assert await attachment_store.read_bytes(attachment.id, alice) == body
    with pytest.raises(NotFoundError):
        await attachment_store.read_bytes(attachment.id, bob)
    # Bob's presigned URL for Alice's attachment id names his own (empty) namespace, not her object.
    async with httpx.AsyncClient() as http:
        stolen = await http.get(await attachment_store.presigned_get_url(attachment, bob))
    assert stolen.status_code == 404


@pytest.mark.parametrize(
    ("name", "size", "mime", "problem"),
    [
        ("big.bin", 20 * 1024 * 1024 + 1, "application/octet-stream", "exceeds the limit"),
        ("empty.txt", 0, "text/plain", "size must be positive"),
        ("x.txt", 3, "text", "mime_type"),
        ("", 3, "text/plain", "name"),
    ],
)
async def test_bad_uploads_are_rejected_with_a_clear_error(
    store: DynamoDBStore,
    attachment_store: S3AttachmentStore,
    alice: RequestContext,
    name: str,
    size: int,
    mime: str,
    problem: str,
) -> None:
    with pytest.raises(AttachmentRejectedError, match=problem):
        await attachment_store.create_attachment(
            AttachmentCreateParams(name=name, size=size, mime_type=mime), alice
        )


async def test_size_limit_comes_from_settings(
    settings: Settings, store: DynamoDBStore, alice: RequestContext
) -> None:
    small = S3AttachmentStore(settings.model_copy(update={"max_attachment_bytes": 10}), store, s3=store.s3)
    await small.create_attachment(AttachmentCreateParams(name="ok", size=10, mime_type="text/plain"), alice)
    with pytest.raises(AttachmentRejectedError, match="11 bytes exceeds the limit of 10 bytes"):
        await small.create_attachment(
            AttachmentCreateParams(name="no", size=11, mime_type="text/plain"), alice
        )


async def test_deleting_a_thread_deletes_its_uploaded_attachments(
    store: DynamoDBStore, attachment_store: S3AttachmentStore, alice: RequestContext
) -> None:
    from chatkit.types import ThreadMetadata

    await store.save_thread(ThreadMetadata(id="thr_att", created_at=BASE), alice)
    attachment = await attachment_store.create_attachment(
        AttachmentCreateParams(name="a.txt", size=2, mime_type="text/plain"), alice
    )
    assert attachment.upload_descriptor is not None
    async with httpx.AsyncClient() as http:
        await http.put(
            str(attachment.upload_descriptor.url), content=b"hi", headers={"Content-Type": "text/plain"}
        )
    # What ChatKit does when the message is sent: the attachment gains the thread id.
    sent = attachment.model_copy(update={"thread_id": "thr_att"})
    await store.save_attachment(sent, alice)
    message = user_message("thr_att", "msg_1", BASE).model_copy(update={"attachments": [sent]})
    await store.add_thread_item("thr_att", message, alice)
    key = attachment_object_key(alice.user_id, attachment.id)
    assert object_exists(store, key)

    await store.delete_thread("thr_att", alice)
    assert not object_exists(store, key)
    with pytest.raises(NotFoundError):
        await store.load_attachment(attachment.id, alice)


def _expires_at(store: DynamoDBStore, user_id: str, attachment_id: str) -> int | None:
    row = store.dynamodb.get_item(
        TableName=store.table,
        Key=attachment_key(user_id, attachment_id),
        ConsistentRead=True,
    )["Item"]
    return int(row["expires_at"]["N"]) if "expires_at" in row else None


@pytest.mark.parametrize("item_ttl_days", [None, 7])
async def test_unattached_attachments_expire_until_a_message_uses_them(
    item_ttl_days: int | None,
    settings: Settings,
    store: DynamoDBStore,
    alice: RequestContext,
) -> None:
    store = DynamoDBStore(
        settings.model_copy(update={"item_ttl_days": item_ttl_days}), dynamodb=store.dynamodb, s3=store.s3
    )
    attachments = S3AttachmentStore(store.settings, store, s3=store.s3)
    before = int(time.time())
    params = AttachmentCreateParams(name="notes.txt", size=5, mime_type="text/plain")
    attachment = await attachments.create_attachment(params, alice)
    await store.save_attachment(attachment, alice)  # what the ChatKit server does next (an upsert)
    # Created but not sent: the row goes away a day later, whatever the chat TTL.
    expires = _expires_at(store, alice.user_id, attachment.id)
    assert expires is not None
    assert before + UNATTACHED_TTL_SECONDS <= expires <= int(time.time()) + UNATTACHED_TTL_SECONDS

    # Sent in a message: ChatKit saves it with the thread id; it then lives as long as the chat does.
    await store.save_attachment(attachment.model_copy(update={"thread_id": "thr_ttl"}), alice)
    expires = _expires_at(store, alice.user_id, attachment.id)
    if item_ttl_days is None:
        assert expires is None
    else:
        assert expires is not None and expires >= before + item_ttl_days * 86400
    assert (await store.load_attachment(attachment.id, alice)).thread_id == "thr_ttl"

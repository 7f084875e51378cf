"""Two-phase attachment upload to S3 with metadata in the chat table.

1. ``attachments.create`` -> :meth:`S3AttachmentStore.create_attachment` checks the declared size and
   type, saves the metadata through :class:`DynamoDBStore` and returns an ``upload_descriptor``: a
   presigned S3 ``PUT`` URL (signed for the declared ``Content-Type`` and ``Content-Length``, so S3
   refuses a different type or size) plus the headers the client must send.
2. The client ``PUT``s the bytes straight to S3; they never pass through the function.

Objects live at ``attachments/<user>/<attachment id>``: the key is derived from the verified user id,
so a presigned URL can only ever name the caller's own objects. Image attachments carry a presigned
``GET`` URL as ``preview_url``; it expires after ``settings.presigned_url_seconds``.
"""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from chatkit.store import AttachmentStore, NotFoundError
from chatkit.types import (
    Attachment,
    AttachmentCreateParams,
    AttachmentUploadDescriptor,
    FileAttachment,
    ImageAttachment,
)
from pydantic import AnyUrl

from task_assistant.chat.ids import new_id
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.failures import storage_call
from task_assistant.chat.store.keys import attachment_object_key
from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.storage.clients import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_NAME_LENGTH = 255


class AttachmentRejectedError(ValueError):
    """The client asked for an attachment this service does not accept (size, type or name)."""


class S3AttachmentStore(AttachmentStore[RequestContext]):
    """ChatKit attachment store: bytes in S3 via presigned URLs, metadata via :class:`DynamoDBStore`."""

    def __init__(self, settings: Settings, store: DynamoDBStore, *, s3: S3Client | None = None) -> None:
        self.settings = settings
        self.store = store
        self.bucket = settings.attachments_bucket
        self.s3: S3Client = s3 if s3 is not None else s3_client(settings)

    def generate_attachment_id(self, mime_type: str, context: RequestContext) -> str:
        return new_id("attachment")

    async def create_attachment(self, input: AttachmentCreateParams, context: RequestContext) -> Attachment:
        """Register an upload and return where to ``PUT`` the bytes.

        Raises :class:`AttachmentRejectedError` for an empty or oversized file, a missing or malformed
        MIME type, or an empty or overlong name.
        """
        self._check(input)
        attachment_id = self.generate_attachment_id(input.mime_type, context)
        key = attachment_object_key(context.user_id, attachment_id)
        upload_url = await storage_call(
            self.s3.generate_presigned_url,
            "put_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ContentType": input.mime_type,
                "ContentLength": input.size,
            },
            ExpiresIn=self.settings.presigned_url_seconds,
            HttpMethod="PUT",
        )
        descriptor = AttachmentUploadDescriptor(
            url=AnyUrl(upload_url), method="PUT", headers={"Content-Type": input.mime_type}
        )
        attachment: Attachment
        if input.mime_type.lower().startswith("image/"):
            attachment = ImageAttachment(
                id=attachment_id,
                name=input.name,
                mime_type=input.mime_type,
                upload_descriptor=descriptor,
                preview_url=AnyUrl(await self._presign_get(key)),
                metadata={"size": input.size},
            )
        else:
            attachment = FileAttachment(
                id=attachment_id,
                name=input.name,
                mime_type=input.mime_type,
                upload_descriptor=descriptor,
                metadata={"size": input.size},
            )
        await self.store.save_attachment(attachment, context=context)
        return attachment

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        """Delete the uploaded object and the metadata; ``NotFoundError`` if missing or not the caller's."""
        await self.store.load_attachment(attachment_id, context=context)
        await self.store.delete_attachment(attachment_id, context=context)

    async def presigned_get_url(self, attachment: Attachment, context: RequestContext) -> str:
        """A time-limited ``GET`` URL for the caller's copy of ``attachment`` (for the model or a preview).

        The key comes from the caller's user id, so another user's attachment id yields a URL to nothing.
        """
        return await self._presign_get(attachment_object_key(context.user_id, attachment.id))

    async def read_bytes(self, attachment_id: str, context: RequestContext) -> bytes:
        """The uploaded bytes; ``NotFoundError`` if the attachment is not the caller's or not uploaded."""
        await self.store.load_attachment(attachment_id, context=context)
        key = attachment_object_key(context.user_id, attachment_id)
        try:
            response = await storage_call(self.s3.get_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFoundError(f"Attachment {attachment_id} has not been uploaded") from exc
            raise
        data: bytes = await storage_call(response["Body"].read)
        return data

    async def _presign_get(self, key: str) -> str:
        url: str = await storage_call(
            self.s3.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.settings.presigned_url_seconds,
        )
        return url

    def _check(self, input: AttachmentCreateParams) -> None:
        limit = self.settings.max_attachment_bytes
        if input.size <= 0:
            raise AttachmentRejectedError(f"attachment size must be positive, got {input.size}")
        if input.size > limit:
            raise AttachmentRejectedError(
                f"attachment of {input.size} bytes exceeds the limit of {limit} bytes"
            )
        mime = input.mime_type
        major, _, minor = mime.partition("/")
        if not major or not minor or any(c.isspace() for c in mime) or len(mime) > 255:
            raise AttachmentRejectedError(f"attachment mime_type must look like 'type/subtype', got {mime!r}")
        if not input.name or len(input.name) > MAX_NAME_LENGTH:
            raise AttachmentRejectedError(
                f"attachment name must be 1 to {MAX_NAME_LENGTH} characters, got {len(input.name)}"
            )


def guess_mime_type(name: str) -> str:
    """A MIME type for ``name`` from its extension (``application/octet-stream`` when unknown)."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"

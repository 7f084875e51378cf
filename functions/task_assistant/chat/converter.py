"""Thread items -> model input: ChatKit's converter plus attachments and the task list widget.

Attachments (the hook ChatKit leaves to integrations):

- every attachment is announced with a text part ``Attached file: <name> (<mime type>)``, so any model
  (and the offline model) knows its name;
- images become ``input_image`` parts: a presigned S3 ``GET`` URL when the provider can fetch it (AWS,
  Responses API), or a ``data:`` URL with the bytes (``delivery="inline"``: local S3 on loopback, or a
  Chat Completions provider, which takes no file URLs);
- PDFs become ``input_file`` parts (URL or inline bytes, as above); small text files (``text/*``,
  JSON, CSV) are inlined as text; anything else is described in a text note only.

An attachment that cannot be read (never uploaded, too big to inline) becomes a note saying so rather
than failing the turn. Task list widgets are rendered as the numbered text of
:mod:`task_assistant.agent.listing`, with ids, so "the second one" means what the user saw.
"""

from __future__ import annotations

import base64
from typing import Any, Literal, cast

from agents import TResponseInputItem
from chatkit.agents import ThreadItemConverter
from chatkit.store import NotFoundError
from chatkit.types import Attachment, ImageAttachment, UserMessageItem, UserMessageTagContent, WidgetItem
from openai.types.responses import ResponseInputContentParam
from openai.types.responses.response_input_item_param import Message

from task_assistant.agent.listing import ATTACHMENT_NOTE_PREFIX, format_task_list
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.widgets import rows_of
from task_assistant.context import RequestContext

INLINE_MAX_BYTES = 8 * 1024 * 1024
"""Largest attachment sent inline as a data URL (providers cap request sizes)."""
TEXT_INLINE_MAX_CHARS = 20_000
"""Longest text file inlined into the prompt; longer ones are cut with a marker."""
TAG_TEXT_MAX_CHARS = 200
"""Longest tag text repeated to the model as context."""

_TEXT_TYPES = ("text/", "application/json", "application/csv", "application/xml", "application/x-yaml")

Delivery = Literal["url", "inline"]


def _text(text: str) -> ResponseInputContentParam:
    return {"type": "input_text", "text": text}


class TaskThreadItemConverter(ThreadItemConverter):
    """Converter for one request: attachments are read as ``context``'s user.

    ``delivery`` chooses how images and PDFs reach the model: ``"url"`` (a presigned URL the provider
    downloads) or ``"inline"`` (the bytes in a data URL, for providers that cannot reach the bucket).
    Without an attachment store, attachments are described by name only.
    """

    def __init__(
        self,
        attachments: S3AttachmentStore | None,
        context: RequestContext,
        *,
        delivery: Delivery = "url",
    ) -> None:
        self.attachments = attachments
        self.context = context
        self.delivery = delivery

    async def _inline_bytes(self, attachment: Attachment) -> bytes | None:
        assert self.attachments is not None
        try:
            data = await self.attachments.read_bytes(attachment.id, self.context)
        except NotFoundError:
            return None
        return data if len(data) <= INLINE_MAX_BYTES else None

    async def attachment_to_message_content(self, attachment: Attachment) -> ResponseInputContentParam:
        name, mime = attachment.name, attachment.mime_type
        if self.attachments is None:
            return _text(f"(The contents of {name} are not available.)")
        is_image = isinstance(attachment, ImageAttachment) or mime.startswith("image/")
        is_pdf = mime == "application/pdf"
        is_text = mime.startswith(_TEXT_TYPES)
        if is_text:
            data = await self._inline_bytes(attachment)
            if data is None:
                return _text(f"(The file {name} could not be read: it was not uploaded or is too large.)")
            text = data.decode("utf-8", errors="replace")
            if len(text) > TEXT_INLINE_MAX_CHARS:
                text = text[:TEXT_INLINE_MAX_CHARS] + "\n[... truncated]"
            return _text(f"Contents of {name}:\n{text}")
        if not (is_image or is_pdf):
            return _text(f"(The file {name} ({mime}) cannot be shown to you; only its name is known.)")
        if self.delivery == "inline":
            data = await self._inline_bytes(attachment)
            if data is None:
                return _text(f"(The file {name} could not be read: it was not uploaded or is too large.)")
            url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        else:
            url = await self.attachments.presigned_get_url(attachment, self.context)
        if is_image:
            return {"type": "input_image", "image_url": url, "detail": "auto"}
        if self.delivery == "inline":
            return {"type": "input_file", "file_data": url, "filename": name}
        return {"type": "input_file", "file_url": url, "filename": name}

    async def user_message_to_input(
        self, item: UserMessageItem, is_last_message: bool = True
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        converted = await super().user_message_to_input(item, is_last_message)
        if not item.attachments or not isinstance(converted, list) or not converted:
            return converted
        # The base class puts the typed text first, then one part per attachment, in order. Put a
        # note with each attachment's name before its part, so the model can refer to it by name.
        first: Any = converted[0]
        content = list(first.get("content", []))
        typed, parts = content[:1], content[1:]
        annotated: list[Any] = list(typed)
        for attachment, part in zip(item.attachments, parts, strict=False):
            annotated.append(_text(f"{ATTACHMENT_NOTE_PREFIX}{attachment.name} ({attachment.mime_type})"))
            annotated.append(part)
        return [cast(TResponseInputItem, {**first, "content": annotated}), *converted[1:]]

    async def tag_to_message_content(self, tag: UserMessageTagContent) -> ResponseInputContentParam:
        # The base class raises here, which failed every later turn of a thread holding a tagged message
        # (found by fuzzing). The typed text already shows the tag as "@<text>"; its data comes from the
        # client and is not passed on.
        return _text(f"The user tagged \u201c{tag.text[:TAG_TEXT_MAX_CHARS]}\u201d.")

    async def widget_to_input(self, item: WidgetItem) -> TResponseInputItem | list[TResponseInputItem] | None:
        rows = rows_of(item.widget)
        if rows is None:
            return await super().widget_to_input(item)
        return Message(type="message", role="user", content=[_text(format_task_list(rows))])

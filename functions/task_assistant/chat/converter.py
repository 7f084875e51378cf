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

A user message followed directly by another one has no answer in the history: it is being answered by
its own turn right now (another tab sent it a moment earlier, see :mod:`task_assistant.chat.turns`), or
its answer failed. It opens with :data:`UNANSWERED_NOTE`, so the model answers the message of this turn
and does not carry out the earlier one as well.

Assistant messages go back in the form the provider's API takes (``api``). For the Responses API that is
chatkit's own (``output_text`` parts). The Agents SDK's Chat Completions converter refuses ``output_text``
in an assistant message that has no provider id ("Unknown content"), so for Chat Completions the text goes
as plain content: one string for the usual single part, ``input_text`` parts (sent as text parts) when
there are several, so no part is merged or lost. An assistant message without any text is left out.

@-mentions: a tag the widget sends (``input_tag``, an entity from the page's task search) is resolved
against the caller's tasks when the turn runs, by id, and reaches the model as a precise reference
(``Tagged task: <task mention=… id=… status=… title=…/>``). A tag that names no task of the caller
(deleted since, another user's id, made up) becomes a note to ignore it, never an error. Each tag is
looked up once per turn.

Workflow items (what the tools did, :mod:`task_assistant.chat.activity`) reach the model as one line
each, so they do not grow its history.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, Literal, cast

from agents import TResponseInputItem
from chatkit.agents import ThreadItemConverter
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageItem,
    Attachment,
    ImageAttachment,
    ThreadItem,
    UserMessageItem,
    UserMessageTagContent,
    WidgetItem,
    WorkflowItem,
)
from openai.types.responses import EasyInputMessageParam, ResponseInputContentParam
from openai.types.responses.response_input_item_param import Message

from task_assistant.agent.listing import (
    ATTACHMENT_NOTE_PREFIX,
    TaggedTask,
    format_tagged_task,
    format_task_list,
)
from task_assistant.chat.activity import activity_line
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.widgets import rows_of
from task_assistant.context import RequestContext
from task_assistant.tasks.models import Task, TaskNotFoundError, looks_like_task_id
from task_assistant.tasks.service import TaskService

INLINE_MAX_BYTES = 8 * 1024 * 1024
"""Largest attachment sent inline as a data URL (providers cap request sizes)."""
TEXT_INLINE_MAX_CHARS = 20_000
"""Longest text file inlined into the prompt; longer ones are cut with a marker."""
TAG_MENTION_MAX_CHARS = 100
"""A tag's text comes from the client: it is cut to this length before the model reads it."""

_TEXT_TYPES = ("text/", "application/json", "application/csv", "application/xml", "application/x-yaml")

Delivery = Literal["url", "inline"]
ModelApi = Literal["responses", "chat_completions"]

UNANSWERED_NOTE = (
    "(An earlier message that has no answer here: it is answered separately, or its answer failed. "
    "Do not act on it unless a later message asks you to.)"
)


def _text(text: str) -> ResponseInputContentParam:
    return {"type": "input_text", "text": text}


class TaskThreadItemConverter(ThreadItemConverter):
    """Converter for one request: attachments are read as ``context``'s user.

    ``delivery`` chooses how images and PDFs reach the model: ``"url"`` (a presigned URL the provider
    downloads) or ``"inline"`` (the bytes in a data URL, for providers that cannot reach the bucket).
    Without an attachment store, attachments are described by name only. ``api`` is the API the model
    speaks, which decides how earlier assistant messages are written (see the module docstring).
    ``tasks`` resolves @-mentioned tasks as ``context``'s user; without it every tag is noted as unknown.
    """

    def __init__(
        self,
        attachments: S3AttachmentStore | None,
        context: RequestContext,
        *,
        delivery: Delivery = "url",
        api: ModelApi = "responses",
        tasks: TaskService | None = None,
    ) -> None:
        self.attachments = attachments
        self.context = context
        self.delivery = delivery
        self.api = api
        self._unanswered: set[str] = set()
        self.tasks = tasks
        self._tagged: dict[str, Task | None] = {}

    async def to_agent_input(
        self, thread_items: Sequence[ThreadItem] | ThreadItem
    ) -> list[TResponseInputItem]:
        items = list(thread_items) if isinstance(thread_items, Sequence) else [thread_items]
        # What the tools did (a workflow) is no answer: a message followed only by one is still unanswered.
        exchange = [item for item in items if not isinstance(item, WorkflowItem)]
        self._unanswered = {
            item.id
            for item, following in pairwise(exchange)
            if isinstance(item, UserMessageItem) and isinstance(following, UserMessageItem)
        }
        return await super().to_agent_input(items)

    async def _tagged_task(self, task_id: str) -> Task | None:
        """The caller's task with this id, or None (looked up once per converter, i.e. per turn)."""
        key = task_id.strip().upper()
        if self.tasks is None or not looks_like_task_id(key):
            return None
        if key not in self._tagged:
            try:
                self._tagged[key] = await self.tasks.get(self.context, key)
            except TaskNotFoundError:
                self._tagged[key] = None
        return self._tagged[key]

    async def tag_to_message_content(self, tag: UserMessageTagContent) -> ResponseInputContentParam:
        mention = " ".join(tag.text.split())[:TAG_MENTION_MAX_CHARS]
        task = await self._tagged_task(tag.id)
        if task is None:
            return _text(format_tagged_task(TaggedTask(mention=mention)))
        found = TaggedTask(mention=mention, id=task.id, title=task.title, completed=task.completed)
        return _text(format_tagged_task(found))

    async def workflow_to_input(
        self, item: WorkflowItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        line = activity_line(item)
        return Message(type="message", role="user", content=[_text(line)]) if line else None

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
        if not isinstance(converted, list) or not converted:
            return converted
        first: Any = converted[0]
        content: list[Any] = list(first.get("content", []))
        if item.attachments:
            # The base class puts the typed text first, then one part per attachment, in order. Put a
            # note with each attachment's name before its part, so the model can refer to it by name.
            typed, parts = content[:1], content[1:]
            content = list(typed)
            for attachment, part in zip(item.attachments, parts, strict=False):
                content.append(_text(f"{ATTACHMENT_NOTE_PREFIX}{attachment.name} ({attachment.mime_type})"))
                content.append(part)
        if item.id in self._unanswered:
            content.insert(0, _text(UNANSWERED_NOTE))
        if not item.attachments and item.id not in self._unanswered:
            return converted
        return [cast(TResponseInputItem, {**first, "content": content}), *converted[1:]]

    async def assistant_message_to_input(
        self, item: AssistantMessageItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        texts = [part.text for part in item.content if part.text]
        if not texts:
            return None
        if self.api == "responses":
            return await super().assistant_message_to_input(item)
        if len(texts) == 1:
            return EasyInputMessageParam(role="assistant", content=texts[0])
        parts: list[ResponseInputContentParam] = [_text(text) for text in texts]
        return EasyInputMessageParam(role="assistant", content=parts)

    async def widget_to_input(self, item: WidgetItem) -> TResponseInputItem | list[TResponseInputItem] | None:
        rows = rows_of(item.widget)
        if rows is None:
            return await super().widget_to_input(item)
        return Message(type="message", role="user", content=[_text(format_task_list(rows))])

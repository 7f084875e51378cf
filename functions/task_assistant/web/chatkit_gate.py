"""Everything checked about a ChatKit request before ``server.process`` runs it.

``process`` answers streaming requests with a ``StreamingResult`` before doing any work, so a missing or
foreign thread would surface only inside an already-200 stream, and a schema violation would raise a
bare pydantic ``ValidationError``. This gate parses the body with chatkit's own request ``TypeAdapter``
first and checks every id the request names against the caller's store, so those become proper 400 and
404 answers before a single byte of stream is sent.

``chatkit.types`` is imported on first use, not at module import (it takes most of a second and
``/health`` must stay light).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from task_assistant.context import RequestContext
from task_assistant.web.errors import BadRequest, Conflict, NotFound, summarise, validation_details

if TYPE_CHECKING:
    from chatkit.store import Store

STREAMING_TYPES = frozenset(
    {
        "threads.create",
        "threads.add_user_message",
        "threads.add_client_tool_output",
        "threads.add_structured_input",
        "threads.retry_after_item",
        "threads.custom_action",
    }
)
NON_STREAMING_TYPES = frozenset(
    {
        "threads.get_by_id",
        "threads.list",
        "items.list",
        "items.feedback",
        "attachments.create",
        "attachments.delete",
        "threads.update",
        "threads.delete",
        "input.transcribe",
        "threads.sync_custom_action",
    }
)
REQUEST_TYPES = STREAMING_TYPES | NON_STREAMING_TYPES
_PAGED_TYPES = frozenset({"threads.list", "items.list"})
_MAX_ID_CHARS = 256


@dataclass(frozen=True)
class GatedRequest:
    """A request that passed the gate: the body to hand to ``process`` and how it will answer."""

    body: bytes
    type: str
    streaming: bool
    parsed: Any


@lru_cache(maxsize=1)
def _request_adapter() -> TypeAdapter[Any]:
    from chatkit.types import ChatKitReq

    return TypeAdapter(ChatKitReq)


def _shown(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def parse_request(body: bytes, *, page_size_cap: int) -> GatedRequest:
    """Parse and validate a ChatKit request body; :class:`BadRequest` names the first problem.

    A ``params.limit`` above ``page_size_cap`` is lowered to the cap (the body handed on is rewritten);
    a limit below 1 is refused.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object with 'type' and 'params'")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadRequest("'type' is required and must be a string naming the request type")
    if kind not in REQUEST_TYPES:
        raise BadRequest(
            f"unknown request type {_shown(kind)!r}; expected one of: {', '.join(sorted(REQUEST_TYPES))}"
        )
    params = data.get("params")
    if kind in _PAGED_TYPES and isinstance(params, dict):
        limit = params.get("limit")
        if type(limit) is int:
            if limit < 1:
                raise BadRequest("params.limit must be at least 1")
            if limit > page_size_cap:
                params["limit"] = page_size_cap
                body = json.dumps(data).encode()
    try:
        parsed = _request_adapter().validate_json(body)
    except ValidationError as exc:
        details = validation_details(exc.errors(include_url=False, include_input=False))
        # chatkit's union is discriminated by type; drop that level from locations for readability.
        for detail in details:
            if detail["loc"] and detail["loc"][0] == kind:
                detail["loc"] = detail["loc"][1:]
        raise BadRequest(summarise(details), details=details) from None
    if kind == "input.transcribe":
        # chatkit decodes this itself and would fail with a bare binascii.Error (a 500): check it here.
        try:
            base64.b64decode(parsed.params.audio_base64)
        except (binascii.Error, ValueError):
            raise BadRequest("params.audio_base64 is not valid base64") from None
    return GatedRequest(body=body, type=kind, streaming=kind in STREAMING_TYPES, parsed=parsed)


def _check_id(value: str, what: str) -> None:
    # An id that no store could have issued is "not found", not a server error further down.
    if not value or len(value) > _MAX_ID_CHARS or "#" in value or not value.isprintable():
        raise NotFound(f"{what} not found")


async def check_ownership(
    request: GatedRequest,
    store: Store[RequestContext],
    context: RequestContext,
    *,
    max_ids: int,
) -> RequestContext:
    """404 unless every thread, item and attachment the request names exists and is the caller's.

    Also refuses (400/409), before streaming, requests chatkit would fail inside the stream: an item of
    the wrong kind for the operation, or a structured input / client tool call that is not pending.
    Returns the context to process the request with: ``context``, carrying the thread loaded here (if
    the request names one), which ChatKit's server would otherwise load again first thing.
    """
    from chatkit.store import NotFoundError
    from chatkit.types import (
        AttachmentsCreateReq,
        AttachmentsDeleteReq,
        ClientToolCallItem,
        ItemsFeedbackReq,
        StructuredInputItem,
        ThreadsAddClientToolOutputReq,
        ThreadsAddStructuredInputReq,
        ThreadsAddUserMessageReq,
        ThreadsCreateReq,
        ThreadsCustomActionReq,
        ThreadsRetryAfterItemReq,
        ThreadsSyncCustomActionReq,
        UserMessageItem,
        WidgetItem,
    )

    req = request.parsed

    async def thread(thread_id: str) -> Any:
        _check_id(thread_id, "thread")
        try:
            return await store.load_thread(thread_id, context=context)
        except NotFoundError:
            raise NotFound(f"thread {_shown(thread_id)!r} not found") from None

    async def item(thread_id: str, item_id: str) -> Any:
        _check_id(item_id, "item")
        try:
            return await store.load_item(thread_id, item_id, context=context)
        except NotFoundError:
            raise NotFound(f"item {_shown(item_id)!r} not found in thread {_shown(thread_id)!r}") from None

    async def attachment(attachment_id: str) -> None:
        _check_id(attachment_id, "attachment")
        try:
            await store.load_attachment(attachment_id, context=context)
        except NotFoundError:
            raise NotFound(f"attachment {_shown(attachment_id)!r} not found") from None

    async def attachments(ids: list[str]) -> None:
        if len(ids) > max_ids:
            raise BadRequest(f"at most {max_ids} attachments per message")
        for attachment_id in ids:
            await attachment(attachment_id)

    if isinstance(req, ThreadsCreateReq):
        await attachments(req.params.input.attachments)
        return context
    if isinstance(req, AttachmentsDeleteReq):
        await attachment(req.params.attachment_id)
        return context
    if isinstance(req, AttachmentsCreateReq):
        return context  # names no existing id; the attachment store validates size, type and name
    thread_id = getattr(req.params, "thread_id", None)
    if not isinstance(thread_id, str):
        return context  # threads.list, input.transcribe: nothing to own
    # ChatKit's server loads the same thread again first thing: hand it this one (one GetItem less).
    loaded = context.with_preloaded_thread(await thread(thread_id))

    if isinstance(req, ThreadsAddUserMessageReq):
        await attachments(req.params.input.attachments)
    elif isinstance(req, ItemsFeedbackReq):
        if len(req.params.item_ids) > max_ids:
            raise BadRequest(f"at most {max_ids} item ids per feedback request")
        for item_id in req.params.item_ids:
            await item(thread_id, item_id)
    elif isinstance(req, ThreadsAddStructuredInputReq):
        found = await item(thread_id, req.params.item_id)
        if not isinstance(found, StructuredInputItem):
            raise BadRequest(f"item {_shown(req.params.item_id)!r} is not a structured input")
        if found.status != "pending":
            raise Conflict(f"structured input {_shown(req.params.item_id)!r} was already answered")
    elif isinstance(req, ThreadsRetryAfterItemReq):
        found = await item(thread_id, req.params.item_id)
        if not isinstance(found, UserMessageItem):
            raise BadRequest(f"item {_shown(req.params.item_id)!r} is not a user message")
    elif isinstance(req, ThreadsCustomActionReq | ThreadsSyncCustomActionReq):
        if req.params.item_id is not None:
            found = await item(thread_id, req.params.item_id)
            if not isinstance(found, WidgetItem):
                raise BadRequest(f"item {_shown(req.params.item_id)!r} is not a widget")
    elif isinstance(req, ThreadsAddClientToolOutputReq):
        newest = await store.load_thread_items(thread_id, None, 1, "desc", context)
        pending = [i for i in newest.data if isinstance(i, ClientToolCallItem) and i.status == "pending"]
        if not pending:
            raise Conflict(f"thread {_shown(thread_id)!r} has no pending client tool call")
    return loaded

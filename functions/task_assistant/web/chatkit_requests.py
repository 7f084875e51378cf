"""What each ChatKit request names and requires of the caller's stored conversation, in chatkit's types.

- :data:`REQUEST_TYPES` / :data:`STREAMING_TYPES`: the ``type`` of every request model in chatkit's
  ``StreamingReq`` and ``NonStreamingReq`` unions; :data:`SUPPORTED_TYPES`: those this server answers.
- :func:`requested_model`: the model a new message asks for (the composer's model picker).
- :data:`REFERENCES`: for each request model, the thread, items and attachments it names.
- :func:`load_owned`: 404 unless each of them exists and is the caller's (400 for too many ids).
- :func:`check_state`: 400/409 for requests chatkit would fail only inside an already-200 stream: an
  item of the wrong kind, or a structured input or client tool call that is not pending.

:mod:`task_assistant.web.chatkit_gate` imports this module on the first ChatKit request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, cast, get_args

from chatkit.store import NotFoundError, Store
from chatkit.types import (
    AttachmentsCreateReq,
    AttachmentsDeleteReq,
    ChatKitReq,
    ClientToolCallItem,
    InputTranscribeReq,
    ItemsFeedbackReq,
    ItemsListReq,
    NonStreamingReq,
    StreamingReq,
    StructuredInputItem,
    ThreadItem,
    ThreadMetadata,
    ThreadsAddClientToolOutputReq,
    ThreadsAddStructuredInputReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsCustomActionReq,
    ThreadsDeleteReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadsSyncCustomActionReq,
    ThreadsUpdateReq,
    UserMessageItem,
    WidgetItem,
)
from pydantic import BaseModel, TypeAdapter

from task_assistant.context import RequestContext
from task_assistant.web.errors import BadRequest, Conflict, NotFound

_MAX_ID_CHARS: Final = 256


def _type_names(union: Any) -> frozenset[str]:
    # Each request model declares its discriminator as `type: Literal["<name>"]`.
    return frozenset(get_args(model.model_fields["type"].annotation)[0] for model in get_args(union))


STREAMING_TYPES: Final = _type_names(StreamingReq)
NON_STREAMING_TYPES: Final = _type_names(NonStreamingReq)
REQUEST_TYPES: Final = STREAMING_TYPES | NON_STREAMING_TYPES
#: Known to chatkit, not answered here (a test holds this list to the server's overrides of chatkit's
#: hooks): they would answer 400 ``unsupported``, and the gate's list of known types omits them. None now.
UNSUPPORTED_TYPES: Final[frozenset[str]] = frozenset()
SUPPORTED_TYPES: Final = REQUEST_TYPES - UNSUPPORTED_TYPES
REQUEST_ADAPTER: Final[TypeAdapter[Any]] = TypeAdapter(ChatKitReq)


def shown(value: str) -> str:
    """``value`` short enough to quote in an error message."""
    return value if len(value) <= 80 else value[:77] + "..."


# --- what a request names ------------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """The stored objects a request names; each must exist and be the caller's."""

    thread_id: str | None = None
    item_ids: tuple[str, ...] = ()
    attachment_ids: tuple[str, ...] = ()


def _nothing(_: Any) -> References:
    return References()


def _thread(req: Any) -> References:
    return References(thread_id=req.params.thread_id)


def _thread_and_item(
    req: ThreadsAddStructuredInputReq
    | ThreadsRetryAfterItemReq
    | ThreadsCustomActionReq
    | ThreadsSyncCustomActionReq,
) -> References:
    item_id = req.params.item_id
    return References(thread_id=req.params.thread_id, item_ids=() if item_id is None else (item_id,))


def _new_thread(req: ThreadsCreateReq) -> References:
    return References(attachment_ids=tuple(req.params.input.attachments))


def _message(req: ThreadsAddUserMessageReq) -> References:
    return References(thread_id=req.params.thread_id, attachment_ids=tuple(req.params.input.attachments))


def _feedback(req: ItemsFeedbackReq) -> References:
    return References(thread_id=req.params.thread_id, item_ids=tuple(req.params.item_ids))


def _attachment(req: AttachmentsDeleteReq) -> References:
    return References(attachment_ids=(req.params.attachment_id,))


#: Every request model chatkit accepts (a test holds this to ``ChatKitReq``), and what it names.
#: ``attachments.create`` names nothing yet: the attachment store validates size, type and name.
REFERENCES: Final[dict[type[BaseModel], Callable[[Any], References]]] = {
    ThreadsCreateReq: _new_thread,
    ThreadsAddUserMessageReq: _message,
    ThreadsAddClientToolOutputReq: _thread,
    ThreadsAddStructuredInputReq: _thread_and_item,
    ThreadsRetryAfterItemReq: _thread_and_item,
    ThreadsCustomActionReq: _thread_and_item,
    ThreadsGetByIdReq: _thread,
    ThreadsListReq: _nothing,
    ItemsListReq: _thread,
    ItemsFeedbackReq: _feedback,
    AttachmentsCreateReq: _nothing,
    AttachmentsDeleteReq: _attachment,
    ThreadsUpdateReq: _thread,
    ThreadsDeleteReq: _thread,
    InputTranscribeReq: _nothing,
    ThreadsSyncCustomActionReq: _thread_and_item,
}


def references(req: BaseModel) -> References:
    """What ``req`` (a parsed ChatKit request) names."""
    return REFERENCES[type(req)](req)


def requested_model(req: BaseModel) -> str | None:
    """The model a new user message asks for (``inference_options.model``); None when it asks for none."""
    if isinstance(req, ThreadsCreateReq | ThreadsAddUserMessageReq):
        return req.params.input.inference_options.model or None
    return None


# --- ownership (404) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Owned:
    """The named objects, loaded for the caller: the thread (if any) and the items by id."""

    thread: ThreadMetadata | None = None
    items: dict[str, ThreadItem] = field(default_factory=dict)


def _check_id(value: str, what: str) -> None:
    # An id that no store could have issued is "not found", not a server error further down.
    if not value or len(value) > _MAX_ID_CHARS or "#" in value or not value.isprintable():
        raise NotFound(f"{what} not found")


async def load_owned(
    refs: References, store: Store[RequestContext], context: RequestContext, *, max_ids: int
) -> Owned:
    """Load what ``refs`` names for ``context``'s user; :class:`NotFound` for anything missing or foreign.

    The reads run concurrently (one storage round trip, not one per object); the first problem in this
    order is raised: the thread, too many attachments, each attachment, too many items, each item. Items
    are looked up in the named thread (every request that names items names their thread).
    """
    thread_read = _load_thread(store, refs.thread_id, context) if refs.thread_id is not None else None
    checks: list[Awaitable[object]] = [] if thread_read is None else [thread_read]
    checks += _reads_or_refusal(
        refs.attachment_ids,
        max_ids,
        "attachments per message",
        lambda attachment_id: _load_attachment(store, attachment_id, context),
    )
    item_ids = refs.item_ids if refs.thread_id is not None else ()
    thread_id = refs.thread_id or ""
    checks += _reads_or_refusal(
        item_ids,
        max_ids,
        "item ids per feedback request",
        lambda item_id: _load_item(store, thread_id, item_id, context),
    )
    results = await asyncio.gather(*checks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    thread = cast("ThreadMetadata", results[0]) if thread_read is not None else None
    items = cast("list[ThreadItem]", results[-len(item_ids) :] if item_ids else [])
    return Owned(thread=thread, items=dict(zip(item_ids, items, strict=True)))


def _reads_or_refusal(
    ids: tuple[str, ...], max_ids: int, what: str, read: Callable[[str], Awaitable[object]]
) -> list[Awaitable[object]]:
    """One read per id, or (more than ``max_ids`` ids) a single 400 and no reads at all."""
    if len(ids) > max_ids:
        return [_raise(BadRequest(f"at most {max_ids} {what}"))]
    return [read(one) for one in ids]


async def _raise(error: Exception) -> None:
    raise error


async def _load_thread(
    store: Store[RequestContext], thread_id: str, context: RequestContext
) -> ThreadMetadata:
    _check_id(thread_id, "thread")
    try:
        return await store.load_thread(thread_id, context=context)
    except NotFoundError:
        raise NotFound(f"thread {shown(thread_id)!r} not found") from None


async def _load_item(
    store: Store[RequestContext], thread_id: str, item_id: str, context: RequestContext
) -> ThreadItem:
    _check_id(item_id, "item")
    try:
        return await store.load_item(thread_id, item_id, context=context)
    except NotFoundError:
        raise NotFound(f"item {shown(item_id)!r} not found in thread {shown(thread_id)!r}") from None


async def _load_attachment(store: Store[RequestContext], attachment_id: str, context: RequestContext) -> None:
    _check_id(attachment_id, "attachment")
    try:
        await store.load_attachment(attachment_id, context=context)
    except NotFoundError:
        raise NotFound(f"attachment {shown(attachment_id)!r} not found") from None


# --- protocol state (400, 409) -------------------------------------------------------------------

#: Requests that act on one item, the kind of item they need, and what that kind is called.
EXPECTED_ITEM: Final[dict[type[BaseModel], tuple[type[BaseModel], str]]] = {
    ThreadsAddStructuredInputReq: (StructuredInputItem, "a structured input"),
    ThreadsRetryAfterItemReq: (UserMessageItem, "a user message"),
    ThreadsCustomActionReq: (WidgetItem, "a widget"),
    ThreadsSyncCustomActionReq: (WidgetItem, "a widget"),
}


async def check_state(
    req: BaseModel, owned: Owned, store: Store[RequestContext], context: RequestContext
) -> None:
    """Refuse a request chatkit would fail inside the stream: 400 for an item of the wrong kind, 409 for
    a structured input already answered or a client tool output with no pending call."""
    expected = EXPECTED_ITEM.get(type(req))
    if expected is not None:
        kind, called = expected
        for item_id, item in owned.items.items():
            if not isinstance(item, kind):
                raise BadRequest(f"item {shown(item_id)!r} is not {called}")
            if isinstance(item, StructuredInputItem) and item.status != "pending":
                raise Conflict(f"structured input {shown(item_id)!r} was already answered")
    if isinstance(req, ThreadsAddClientToolOutputReq):
        await _require_pending_tool_call(store, req.params.thread_id, context)


async def _require_pending_tool_call(
    store: Store[RequestContext], thread_id: str, context: RequestContext
) -> None:
    # chatkit reads only the newest item and requires it to be the pending call.
    newest = await store.load_thread_items(thread_id, None, 1, "desc", context)
    if not any(isinstance(i, ClientToolCallItem) and i.status == "pending" for i in newest.data):
        raise Conflict(f"thread {shown(thread_id)!r} has no pending client tool call")

"""One turn answers its own message, whatever else arrives on the thread meanwhile.

ChatKit serializes nothing: two tabs (or devices) can send messages into one thread at once, and each
request runs its own turn. A turn is cut at its message instead of locked (docs/design.md says why):

- **History** (:func:`open_turn`): the model reads the items that sort before the turn's own message
  (``history_max_items - 1`` of them, one ``Query``) and then that message, never anything stored after
  it: not a message sent a moment later from another tab, nor another turn's answer still being written.
  A retry (``threads.retry_after_item``) is cut at the message it answers again, the same way.
- **Placement** (:meth:`Turn.place`): the items a turn adds get ``created_at`` just after its message
  (one microsecond apart, in the order they are first seen), so ``items.list`` and the next turn's
  history show every answer right under its question, even when several turns ran at once.
- **What the agent bridge sees** (:class:`TurnStore`): ``chatkit.agents.stream_agent_response`` reads
  the thread's newest two items to continue a workflow; through this view it reads them from the turn's
  history (no request, and never another turn's workflow), and whatever it stores is placed too.

A turn without a message of its own (a client tool output) reads the thread's newest items, as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from chatkit.store import Store, StoreItemType
from chatkit.types import (
    Attachment,
    Page,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
)

from task_assistant.context import RequestContext

RETRY_REQUEST = "threads.retry_after_item"
PLACEMENT_STEP = timedelta(microseconds=1)


@runtime_checkable
class ReadsItemsBefore(Protocol):
    """A store that reads the items before a given item without looking that item up first."""

    async def load_items_before(
        self, thread_id: str, item: ThreadItem, limit: int, context: RequestContext
    ) -> list[ThreadItem]: ...


def retried_item_id(request: str | bytes | bytearray) -> str | None:
    """The message a ``threads.retry_after_item`` request names; None for any other (or a broken) body."""
    raw = request.encode() if isinstance(request, str) else bytes(request)
    if RETRY_REQUEST.encode() not in raw and b"\\u" not in raw:
        return None  # the type cannot be spelled without its name or a JSON escape: skip the parse
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("type") != RETRY_REQUEST:
        return None
    params = data.get("params")
    item_id = params.get("item_id") if isinstance(params, dict) else None
    return item_id if isinstance(item_id, str) else None


@dataclass
class Turn:
    """One turn of one thread: what its model input is made of, and where its items go."""

    thread_id: str
    message: UserMessageItem | None
    history: list[ThreadItem]
    """Oldest first; ends with ``message`` when there is one."""
    complete: bool
    """Whether ``history`` holds every item before ``message`` (the thread is shorter than the limit)."""
    _slots: dict[str, datetime] = field(default_factory=dict)

    def place(self, event: ThreadStreamEvent) -> ThreadStreamEvent:
        """``event``, its item placed right after the turn's message (other events as they are)."""
        if isinstance(event, ThreadItemAddedEvent | ThreadItemDoneEvent | ThreadItemReplacedEvent):
            placed = self.placed(event.item, new=not isinstance(event, ThreadItemReplacedEvent))
            if placed is not event.item:
                return event.model_copy(update={"item": placed})
        return event

    def placed(self, item: ThreadItem, *, new: bool = True) -> ThreadItem:
        """``item`` with the ``created_at`` of its slot after the message (first seen, first placed).

        ``new=False`` (a replacement) keeps an item the turn has not placed where it is.
        """
        if self.message is None or item.id == self.message.id or item.thread_id != self.thread_id:
            return item
        if item.id not in self._slots:
            if not new:
                return item
            self._slots[item.id] = self.message.created_at + PLACEMENT_STEP * (len(self._slots) + 1)
        at = self._slots[item.id]
        return item if item.created_at == at else item.model_copy(update={"created_at": at})

    def newest(self, limit: int) -> Page[ThreadItem] | None:
        """The thread's newest ``limit`` items as the turn sees them; None if it has not read that many."""
        if len(self.history) < limit and not self.complete:
            return None
        data = list(reversed(self.history))[:limit]
        more = len(self.history) > limit or not self.complete
        return Page(data=data, has_more=more, after=data[-1].id if more and data else None)


async def open_turn(
    store: Store[RequestContext],
    thread: ThreadMetadata,
    message: UserMessageItem | None,
    limit: int,
    context: RequestContext,
) -> Turn:
    """Read the turn's history: at most ``limit`` items, ending with ``message`` (see the module doc)."""
    if message is None:
        page = await store.load_thread_items(thread.id, None, limit, "desc", context)
        return Turn(thread.id, None, list(reversed(page.data)), complete=not page.has_more)
    want = limit - 1
    before: list[ThreadItem] = []
    if want > 0:
        if isinstance(store, ReadsItemsBefore):
            before = await store.load_items_before(thread.id, message, want, context)
        else:
            before = list((await store.load_thread_items(thread.id, message.id, want, "desc", context)).data)
    history = [*reversed(before), message]
    return Turn(thread.id, message, history, complete=len(before) < want)


class TurnStore(Store[RequestContext]):
    """``store`` as the agent bridge of one turn sees it (see "What the agent bridge sees" above)."""

    def __init__(self, store: Store[RequestContext], turn: Turn) -> None:
        self.store = store
        self.turn = turn

    def generate_thread_id(self, context: RequestContext) -> str:
        return self.store.generate_thread_id(context)

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext
    ) -> str:
        return self.store.generate_item_id(item_type, thread, context)

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: RequestContext
    ) -> Page[ThreadItem]:
        if thread_id == self.turn.thread_id and after is None and order == "desc":
            page = self.turn.newest(limit)
            if page is not None:
                return page
        return await self.store.load_thread_items(thread_id, after, limit, order, context)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        await self.store.add_thread_item(thread_id, self.turn.placed(item), context)

    async def save_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        await self.store.save_item(thread_id, self.turn.placed(item, new=False), context)

    # --- the rest is the store's own ---------------------------------------------------------------

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        return await self.store.load_thread(thread_id, context)

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        await self.store.save_thread(thread, context)

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: RequestContext
    ) -> Page[ThreadMetadata]:
        return await self.store.load_threads(limit, after, order, context)

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        return await self.store.load_item(thread_id, item_id, context)

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        await self.store.delete_thread(thread_id, context)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        await self.store.delete_thread_item(thread_id, item_id, context)

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        await self.store.save_attachment(attachment, context)

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        return await self.store.load_attachment(attachment_id, context)

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        await self.store.delete_attachment(attachment_id, context)

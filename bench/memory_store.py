"""A minimal in-memory ChatKit ``Store`` for benchmarks only: the zero-storage baseline of a turn.

chatkit ships no in-memory store. This one keeps threads, items and attachments in dicts keyed by the
caller, so the request gate and ChatKit's server run exactly as on DynamoDB, minus every round trip.
Not for the application: nothing persists and nothing is bounded.
"""

from __future__ import annotations

from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata

from task_assistant.chat.ids import new_id
from task_assistant.context import RequestContext


class MemoryStore(Store[RequestContext]):
    """Threads, items and attachments per user in dicts (items kept in insertion order by id)."""

    def __init__(self) -> None:
        self.threads: dict[tuple[str, str], ThreadMetadata] = {}
        self.items: dict[tuple[str, str], dict[str, ThreadItem]] = {}
        self.attachments: dict[tuple[str, str], Attachment] = {}

    def generate_thread_id(self, context: RequestContext) -> str:
        return new_id("thread")

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext
    ) -> str:
        return new_id(item_type)

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        try:
            return self.threads[(context.user_id, thread_id)].model_copy(deep=True)
        except KeyError:
            raise NotFoundError(f"Thread {thread_id} not found") from None

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        meta = ThreadMetadata(**{name: getattr(thread, name) for name in ThreadMetadata.model_fields})
        self.threads[(context.user_id, thread.id)] = meta

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: RequestContext
    ) -> Page[ThreadItem]:
        rows = sorted(
            self.items.get((context.user_id, thread_id), {}).values(), key=lambda i: (i.created_at, i.id)
        )
        if order == "desc":
            rows.reverse()
        if after is not None:
            ids = [i.id for i in rows]
            if after not in ids:
                raise NotFoundError(f"Item {after} not found")
            rows = rows[ids.index(after) + 1 :]
        page = rows[:limit]
        has_more = len(rows) > limit
        return Page(data=page, has_more=has_more, after=page[-1].id if has_more and page else None)

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        self.attachments[(context.user_id, attachment.id)] = attachment

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        try:
            return self.attachments[(context.user_id, attachment_id)]
        except KeyError:
            raise NotFoundError(f"Attachment {attachment_id} not found") from None

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        self.attachments.pop((context.user_id, attachment_id), None)

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: RequestContext
    ) -> Page[ThreadMetadata]:
        mine = sorted(
            (t for (user, _), t in self.threads.items() if user == context.user_id),
            key=lambda t: (t.created_at, t.id),
            reverse=order == "desc",
        )
        if after is not None:
            ids = [t.id for t in mine]
            mine = mine[ids.index(after) + 1 :] if after in ids else []
        page = mine[:limit]
        has_more = len(mine) > limit
        return Page(data=page, has_more=has_more, after=page[-1].id if has_more and page else None)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        self.items.setdefault((context.user_id, thread_id), {})[item.id] = item.model_copy(deep=True)

    async def save_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        await self.add_thread_item(thread_id, item, context)

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        try:
            return self.items[(context.user_id, thread_id)][item_id]
        except KeyError:
            raise NotFoundError(f"Item {item_id} not found") from None

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        self.threads.pop((context.user_id, thread_id), None)
        self.items.pop((context.user_id, thread_id), None)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        self.items.get((context.user_id, thread_id), {}).pop(item_id, None)

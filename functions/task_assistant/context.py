"""Who a request acts for: established once by the entry point, carried to every layer below it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatkit.types import Page, ThreadItem, ThreadMetadata


@dataclass(frozen=True)
class RequestContext:
    """The verified caller of one request.

    ``user_id`` comes only from a verified token (or the API Gateway authorizer's claims), never from a
    request body, a free client header or a tool argument. Stores and services scope every key by it.

    ``preloaded_thread`` is a thread already loaded for this caller during this request (the HTTP gate
    loads it to check ownership); the chat store takes it instead of reading the table again.
    ``recent_items`` likewise hands the newest items of a thread, just read, to the next such read.
    """

    user_id: str
    request_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    preloaded_thread: PreloadedThread | None = field(default=None, compare=False, repr=False)
    recent_items: RecentItems | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.user_id or "#" in self.user_id:
            raise ValueError("user_id must be non-empty and must not contain '#'")

    def with_preloaded_thread(self, thread: ThreadMetadata) -> RequestContext:
        """This context, carrying ``thread`` (just loaded for this caller) to the store's next load of it."""
        return replace(self, preloaded_thread=PreloadedThread(thread, self.user_id))

    def with_recent_items(self, thread_id: str, page: Page[ThreadItem]) -> RequestContext:
        """This context, carrying ``page`` (``thread_id``'s newest items, newest first, just read for this
        caller) to the store's next newest-first read of that thread."""
        return replace(self, recent_items=RecentItems(thread_id, self.user_id, page))


class PreloadedThread:
    """A thread loaded earlier in the request, handed to the first later load of it, and only that one.

    Every later load reads the table, so a thread saved in between (a new title, a new previous response
    id) is never answered with the old copy.
    """

    def __init__(self, thread: ThreadMetadata, user_id: str) -> None:
        self._thread: ThreadMetadata | None = thread
        self._user_id = user_id

    def take(self, thread_id: str, user_id: str) -> ThreadMetadata | None:
        """The thread if it is ``thread_id`` as loaded for ``user_id`` and not taken yet, else ``None``."""
        thread = self._thread
        if thread is None or thread.id != thread_id or user_id != self._user_id:
            return None
        self._thread = None
        return thread


class RecentItems:
    """A thread's newest items, read newest first earlier in the request, for the next such read only.

    The next newest-first read of the thread without a cursor, of at most as many items as were read
    (or of any number, if that was all of them), gets copies of the newest ones instead of a Query. Taken
    once: a later read (after the turn has written its answer, say) reads the table.
    """

    def __init__(self, thread_id: str, user_id: str, page: Page[ThreadItem]) -> None:
        self._thread_id = thread_id
        self._user_id = user_id
        self._page: Page[ThreadItem] | None = page

    def take(
        self, thread_id: str, user_id: str, *, after: str | None, limit: int, order: str
    ) -> Page[ThreadItem] | None:
        """The ``limit`` newest items if this read can be answered from the page (see above), else None."""
        page = self._page
        if page is None or thread_id != self._thread_id or user_id != self._user_id:
            return None
        if after is not None or order != "desc" or (limit > len(page.data) and page.has_more):
            return None
        self._page = None
        data = [item.model_copy(deep=True) for item in page.data[:limit]]
        has_more = len(page.data) > limit or page.has_more
        return page.model_copy(
            update={"data": data, "has_more": has_more, "after": data[-1].id if has_more and data else None}
        )

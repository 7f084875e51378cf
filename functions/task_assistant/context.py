"""Who a request acts for: established once by the entry point, carried to every layer below it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatkit.types import ThreadMetadata


@dataclass(frozen=True)
class RequestContext:
    """The verified caller of one request.

    ``user_id`` comes only from a verified token (or the API Gateway authorizer's claims), never from a
    request body, a free client header or a tool argument. Stores and services scope every key by it.

    ``preloaded_thread`` is a thread already loaded for this caller during this request (the HTTP gate
    loads it to check ownership); the chat store takes it instead of reading the table again.
    """

    user_id: str
    request_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    preloaded_thread: PreloadedThread | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.user_id or "#" in self.user_id:
            raise ValueError("user_id must be non-empty and must not contain '#'")

    def with_preloaded_thread(self, thread: ThreadMetadata) -> RequestContext:
        """This context, carrying ``thread`` (just loaded for this caller) to the store's next load of it."""
        return replace(self, preloaded_thread=PreloadedThread(thread, self.user_id))


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

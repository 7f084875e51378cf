"""Who a request acts for: established once by the entry point, carried to every layer below it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from chatkit.types import ThreadMetadata


@dataclass(frozen=True)
class RequestContext:
    """The verified caller of one request.

    ``user_id`` comes only from a verified token (or the API Gateway authorizer's claims), never from a
    request body, a free client header or a tool argument. Stores and services scope every key by it.

    ``preloaded_thread`` is a thread already loaded for this caller during this request (the HTTP gate
    loads it to check ownership); the chat store takes it instead of reading the table again.

    ``retried_item_id`` is the user message a ``threads.retry_after_item`` request answers again (set by
    the chat server from the request), and ``tool_effects`` what the tool calls answering that turn's
    message have already done (set by the chat server for the task tools it opens). Neither changes who
    the caller is.
    """

    user_id: str
    request_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    preloaded_thread: PreloadedThread | None = field(default=None, compare=False, repr=False)
    retried_item_id: str | None = field(default=None, compare=False)
    tool_effects: ToolEffects | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.user_id or "#" in self.user_id:
            raise ValueError("user_id must be non-empty and must not contain '#'")

    def with_preloaded_thread(self, thread: ThreadMetadata) -> RequestContext:
        """This context, carrying ``thread`` (just loaded for this caller) to the store's next load of it."""
        return replace(self, preloaded_thread=PreloadedThread(thread, self.user_id))

    def retrying(self, item_id: str) -> RequestContext:
        """This context, for a request that answers the user message ``item_id`` again."""
        return replace(self, retried_item_id=item_id)

    def with_tool_effects(self, effects: ToolEffects) -> RequestContext:
        """This context, for tool calls that answer one user message (see :class:`ToolEffects`)."""
        return replace(self, tool_effects=effects)


# Runtime-checkable: pydantic validates a RequestContext inside chatkit's AgentContext with isinstance.
@runtime_checkable
class ToolEffects(Protocol):
    """The effects already applied by the tool calls that answer one user message.

    A turn that answers a message again (a retry) must not apply them a second time: a changing tool
    asks :meth:`begin` first and, when the call is recorded, reports that result instead of acting.
    The chat table keeps the records (:mod:`task_assistant.chat.effects`).
    """

    async def begin(self, tool: str, arguments: Mapping[str, Any]) -> EffectCall:
        """The record of this call (the n-th call of ``tool`` with these arguments for the message)."""
        ...


class EffectCall(Protocol):
    """One changing tool call answering a message: what an earlier attempt recorded, and how to record."""

    @property
    def recorded(self) -> dict[str, Any] | None:
        """The result an earlier attempt recorded for this call; None when it has not been applied."""
        ...

    async def record(self, result: dict[str, Any]) -> None:
        """Remember ``result`` (the call has just been applied); never raises."""
        ...


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

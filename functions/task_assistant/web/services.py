"""What the HTTP layer talks to, built lazily from settings on first use.

Importing the app and answering ``/health`` must stay cheap (cold starts): nothing here imports the
agent stack (``agents``, ``openai``, ``mcp``) or creates AWS clients until a request needs them. Each
part is built once per process, on a worker thread (imports and client construction block), guarded by
its own thread lock so concurrent first requests share one build. Locks are per part, and a part that
exists is returned without taking any lock: building the ChatKit server holds its lock for seconds, and
``verifier()``, called on the event loop by every authenticated request, must never wait behind it.

Tests pass ready-made parts (``Services(settings, chatkit_server=..., tasks=...)``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from task_assistant.settings import Settings
from task_assistant.storage.clients import run_sync
from task_assistant.web.auth import TokenVerifier

if TYPE_CHECKING:
    from chatkit.server import ChatKitServer

    from task_assistant.context import RequestContext
    from task_assistant.tasks.service import TaskService
    from task_assistant.web.rate_limits import RateLimitStore

T = TypeVar("T")


class Services:
    """Lazily built collaborators of the web app: ChatKit server, task service, verifier, rate limits."""

    def __init__(
        self,
        settings: Settings,
        *,
        chatkit_server: ChatKitServer[RequestContext] | None = None,
        tasks: TaskService | None = None,
        verifier: TokenVerifier | None = None,
        rate_limits: RateLimitStore | None = None,
        chatkit_factory: Callable[[Settings], ChatKitServer[RequestContext]] | None = None,
    ) -> None:
        self.settings = settings
        self._parts: dict[str, Any] = {
            "chatkit": chatkit_server,
            "tasks": tasks,
            "verifier": verifier,
            "rate_limits": rate_limits,
        }
        self._chatkit_factory = chatkit_factory
        self._locks = {name: threading.Lock() for name in self._parts}

    def _get_or_build(self, name: str, build: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is not None:  # fast path: no lock once built (dict reads are atomic)
            return part  # type: ignore[no-any-return]
        with self._locks[name]:
            part = self._parts.get(name)
            if part is None:
                part = build()
                self._parts[name] = part
            return part  # type: ignore[no-any-return]

    async def _part(self, name: str, build: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is not None:
            return part  # type: ignore[no-any-return]
        return await run_sync(self._get_or_build, name, build)

    def built(self, name: str) -> bool:
        """Whether ``name`` (chatkit, tasks, verifier, rate_limits) exists yet (for tests and health)."""
        return self._parts.get(name) is not None

    def part(self, name: str) -> Any | None:
        """The part ``name`` if it is built, else None (never builds it)."""
        return self._parts.get(name)

    async def chatkit_server(self) -> ChatKitServer[RequestContext]:
        """The ChatKit server (the agent helper's factory, imported on first use)."""

        def build() -> ChatKitServer[RequestContext]:
            factory = self._chatkit_factory
            if factory is None:
                from task_assistant.chat.service_factory import build_chatkit_server

                factory = build_chatkit_server
            return factory(self.settings)

        return await self._part("chatkit", build)

    async def tasks(self) -> TaskService:
        """The task service (the same class and table the MCP tools use)."""

        def build() -> TaskService:
            from task_assistant.tasks.service import TaskService

            return TaskService(self.settings)

        return await self._part("tasks", build)

    def verifier(self) -> TokenVerifier:
        """The JWT verifier (cheap to build: the JWKS is fetched on the first token, not here)."""
        return self._get_or_build("verifier", lambda: TokenVerifier.from_settings(self.settings))

    async def rate_limits(self) -> RateLimitStore:
        def build() -> RateLimitStore:
            from task_assistant.web.rate_limits import RateLimitStore

            return RateLimitStore(self.settings)

        return await self._part("rate_limits", build)

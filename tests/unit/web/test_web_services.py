"""Lazy services: a slow build of one part must not hold up the others (notably the verifier)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from task_assistant.settings import Settings
from task_assistant.web.auth import TokenVerifier
from task_assistant.web.services import Services

# How long the blocked build lasts at most; the verifier must come back far sooner than this.
_BUILD_HOLD_SECONDS = 5.0


def _settings() -> Settings:
    return Settings(
        jwt_issuer="https://issuer.example",
        jwks_url="http://127.0.0.1:9/jwks.json",
        jwt_client_ids=["client"],
    )


async def test_verifier_does_not_wait_for_a_chatkit_build_in_progress() -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow_factory(settings: Settings) -> Any:
        entered.set()
        # Bounded, so a regression fails the timing assertion below instead of hanging the suite.
        release.wait(_BUILD_HOLD_SECONDS)
        return object()

    services = Services(_settings(), chatkit_factory=slow_factory)
    building = asyncio.create_task(services.chatkit_server())
    try:
        assert await asyncio.to_thread(entered.wait, 5), "the chatkit build never started"
        started = time.perf_counter()
        # Called on the event loop, exactly as `get_caller` does on every authenticated request.
        verifier = services.verifier()
        elapsed = time.perf_counter() - started
        assert isinstance(verifier, TokenVerifier)
        assert elapsed < 1.0, f"verifier() waited {elapsed:.2f}s behind the chatkit build"
        assert services.verifier() is verifier  # built once
        assert not services.built("chatkit")
    finally:
        release.set()
        await building
    assert services.built("chatkit")


async def test_concurrent_first_requests_share_one_build() -> None:
    calls = 0
    release = threading.Event()

    def factory(settings: Settings) -> Any:
        nonlocal calls
        calls += 1
        release.wait(5)
        return object()

    services = Services(_settings(), chatkit_factory=factory)
    tasks = [asyncio.create_task(services.chatkit_server()) for _ in range(4)]
    await asyncio.sleep(0)  # let every task start waiting for the part
    release.set()
    parts = await asyncio.gather(*tasks)
    assert calls == 1
    assert all(part is parts[0] for part in parts)

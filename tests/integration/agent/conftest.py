"""Fixtures for the conversation tests: the real server on embedded AWS, fake OpenAI, two users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.agent_chat import openai_settings
from support.fake_openai import FakeOpenAI
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.context import RequestContext
from task_assistant.settings import Settings


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as api:
        yield api


@pytest.fixture
def fake_api(fake_openai: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The session's fake OpenAI server, emptied for this test; the test must use its whole script."""
    fake_openai.reset()
    yield fake_openai
    leftover = fake_openai.pending
    fake_openai.reset()
    assert leftover == 0, f"{leftover} scripted model turn(s) were never requested"


@pytest.fixture
def offline_server(settings: Settings) -> TaskChatKitServer:
    server = build_chatkit_server(settings)
    assert server.models.is_offline
    return server


@pytest.fixture
def openai_server(settings: Settings, fake_api: FakeOpenAI) -> TaskChatKitServer:
    server = build_chatkit_server(openai_settings(settings, fake_api))
    assert server.models.choice.kind == "openai_responses"
    return server


@pytest.fixture
def alice_ctx() -> RequestContext:
    return RequestContext(user_id="alice", request_id="req-alice")


@pytest.fixture
def bob_ctx() -> RequestContext:
    return RequestContext(user_id="bob", request_id="req-bob")

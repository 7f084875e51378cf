"""Fixtures for the task service, MCP server and bridge tests (real moto DynamoDB over HTTP).

Tables are created once for this directory (creating tables is most of a test's cost on moto); each test
gets users of its own instead, which the per-user partitioning makes exactly as isolating.
"""

from __future__ import annotations

import itertools

import pytest

from task_assistant.context import RequestContext
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.settings import Settings
from task_assistant.tasks.mcp_server import TaskToolsServer
from task_assistant.tasks.service import TaskService

_users = itertools.count()


@pytest.fixture(scope="session")
def settings(embedded_aws: EmbeddedAWS) -> Settings:
    """Shadows the per-test fresh-tables fixture: one tasks table for this directory."""
    return embedded_aws.create_resources("tasks")


@pytest.fixture
def service(settings: Settings) -> TaskService:
    return TaskService(settings)


@pytest.fixture
def tools_server(service: TaskService) -> TaskToolsServer:
    return TaskToolsServer(service)


@pytest.fixture
def alice() -> RequestContext:
    return RequestContext(user_id=f"alice-{next(_users)}", request_id="req-alice")


@pytest.fixture
def bob() -> RequestContext:
    return RequestContext(user_id=f"bob-{next(_users)}", request_id="req-bob")

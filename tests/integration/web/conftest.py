"""Fixtures for the HTTP layer: a local issuer whose JWKS is served on loopback, settings that trust it,
and the app served by a real uvicorn on a free loopback port (streaming needs real sockets)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from support.web import chatkit_factory, serve
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, JWKSServer, LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services


@pytest.fixture(scope="session")
def issuer() -> LocalIssuer:
    return LocalIssuer.generate()


@pytest.fixture(scope="session")
def jwks_server(issuer: LocalIssuer) -> Iterator[JWKSServer]:
    server = issuer.serve_jwks()
    yield server
    server.stop()


_namespaces = itertools.count()


@pytest.fixture(scope="module")
def web_settings(embedded_aws: EmbeddedAWS, jwks_server: JWKSServer) -> Settings:
    """Tables of this test module, trusting the local issuer; rate limiting off unless a test turns it on.

    Shared by the tests of a module (creating tables costs about a second); tests keep apart by using
    their own user names (see ``user``).
    """
    settings = embedded_aws.create_resources(f"web{next(_namespaces)}")
    return settings.model_copy(
        update={
            "jwt_issuer": LOCAL_ISSUER,
            "jwks_url": jwks_server.url,
            "jwt_client_ids": [LOCAL_CLIENT_ID],
            "rate_limit_per_minute": 0,
            "cors_origins": ["http://localhost:5173"],
        }
    )


@pytest.fixture
def user() -> str:
    """A user name no other test uses."""
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def tasks_app(web_settings: Settings) -> FastAPI:
    """The function-URL app with real services (task service on moto); ChatKit not needed."""
    return create_app(web_settings, door="function_url", services=Services(web_settings))


@pytest.fixture(scope="module")
def tasks_url(tasks_app: FastAPI) -> Iterator[str]:
    with serve(tasks_app) as url:
        yield url


@pytest.fixture(scope="module")
def chat_app(web_settings: Settings) -> FastAPI:
    """The function-URL app with the real ChatKit server (offline model, instant)."""
    services = Services(web_settings, chatkit_factory=chatkit_factory())
    return create_app(web_settings, door="function_url", services=services)


@pytest.fixture(scope="module")
def chat_url(chat_app: FastAPI) -> Iterator[str]:
    with serve(chat_app) as url:
        yield url

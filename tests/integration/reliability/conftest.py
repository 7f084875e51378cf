"""Fixtures of the reliability suite: a local issuer with its JWKS on loopback (helpers: ``support.*``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, JWKSServer, LocalIssuer
from task_assistant.settings import Settings


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer.generate()


@pytest.fixture(scope="module")
def jwks_server(issuer: LocalIssuer) -> Iterator[JWKSServer]:
    server = issuer.serve_jwks()
    yield server
    server.stop()


@pytest.fixture
def base_settings(settings: Settings, jwks_server: JWKSServer) -> Settings:
    """Fresh tables trusting the local issuer; rate limit on but generous (it is counted, never hit)."""
    return settings.model_copy(
        update={
            "jwt_issuer": LOCAL_ISSUER,
            "jwks_url": jwks_server.url,
            "jwt_client_ids": [LOCAL_CLIENT_ID],
            "rate_limit_per_minute": 10_000,
        }
    )


@pytest.fixture(scope="session")
def aws_endpoint(embedded_aws: EmbeddedAWS) -> str:
    return embedded_aws.endpoint_url


@pytest.fixture
def user() -> str:
    """A user name no other test uses."""
    return f"user-{uuid.uuid4().hex[:12]}"

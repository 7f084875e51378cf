"""The pieces the SnapStart hooks are made of (task_assistant.web.snapstart and its helpers)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import ulid
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request

from task_assistant.agent.models import ModelFactory
from task_assistant.chat.ids import ID_PATTERN, new_id, renew_id_generator
from task_assistant.local.token_issuer import JWKSServer, LocalIssuer
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, renew_clients, s3_client
from task_assistant.web.auth import JWKSCache, jwks_tls_context
from task_assistant.web.snapstart import complete_deferred_models
from task_assistant.web.snapstart_routes import is_adapter_hook_call


def test_deferred_pydantic_models_are_built_before_the_snapshot() -> None:
    class Deferred(BaseModel):  # what openai and chatkit do for hundreds of models
        model_config = ConfigDict(defer_build=True)
        name: str

    assert Deferred.__pydantic_complete__ is False
    assert complete_deferred_models() >= 1
    assert Deferred.__pydantic_complete__ is True
    assert Deferred(name="x").name == "x"


def test_a_new_id_generator_keeps_the_id_format() -> None:
    old = ulid.default_generator
    renew_id_generator()
    assert ulid.default_generator is not old
    assert ID_PATTERN.match(new_id("thread"))


def test_renewing_reaches_every_client_built_here_and_holds_none_alive() -> None:
    """Closing their connections is shown over real HTTP in tests/integration/web/test_web_snapstart.py."""
    gc.collect()
    settings = Settings(dynamodb_endpoint_url="http://127.0.0.1:9", s3_endpoint_url="http://127.0.0.1:9")
    before = renew_clients()
    clients = [dynamodb_client(settings), s3_client(settings)]
    assert renew_clients() == before + 2
    del clients
    gc.collect()
    assert renew_clients() == before  # weakly held: a client nobody uses is not kept for renewal


def test_tls_settings_for_jwks_are_built_once() -> None:
    assert jwks_tls_context() is jwks_tls_context()


@pytest.fixture(scope="module")
def jwks(issuer_and_server: tuple[LocalIssuer, JWKSServer]) -> JWKSCache:
    return JWKSCache(issuer_and_server[1].url)


@pytest.fixture(scope="module")
def issuer_and_server() -> Iterator[tuple[LocalIssuer, JWKSServer]]:
    issuer = LocalIssuer.generate()
    server = issuer.serve_jwks()
    yield issuer, server
    server.stop()


async def test_forgotten_keys_are_fetched_again_at_once(
    jwks: JWKSCache, issuer_and_server: tuple[LocalIssuer, JWKSServer]
) -> None:
    """Right after a restore: no minute-long refresh window from the snapshot's fetch holds it back."""
    kid = issuer_and_server[0].kid
    await jwks.get_key(kid)
    assert jwks.known_kids == {kid}
    fetched = jwks.fetch_count
    jwks.forget()
    assert jwks.known_kids == frozenset()
    await jwks.get_key(kid)
    assert jwks.fetch_count == fetched + 1 and kid in jwks.known_kids


def test_refresh_fetches_the_current_keys_at_once(
    jwks: JWKSCache, issuer_and_server: tuple[LocalIssuer, JWKSServer]
) -> None:
    fetched = jwks.fetch_count
    assert jwks.refresh() is True
    assert jwks.fetch_count == fetched + 1 and issuer_and_server[0].kid in jwks.known_kids


def test_a_failed_refresh_leaves_no_stale_keys(issuer_and_server: tuple[LocalIssuer, JWKSServer]) -> None:
    cache = JWKSCache(issuer_and_server[1].url, timeout_seconds=0.5)
    assert cache.refresh() is True and cache.known_kids
    cache.url = "http://127.0.0.1:9/.well-known/jwks.json"  # the JWKS is unreachable after the restore
    assert cache.refresh() is False
    assert cache.known_kids == frozenset()  # the next token fetches again rather than trust old keys


async def test_a_forgotten_model_is_built_again() -> None:
    models = ModelFactory(Settings())
    first = await models.get_model()
    assert await models.get_model() is first
    models.forget()
    assert await models.get_model() is not first


@pytest.mark.parametrize(
    ("settings", "module"),
    [
        ({}, "task_assistant.agent.offline"),
        ({"openai_api_key": "sk-test"}, "agents.models.openai_responses"),
        ({"openai_api_key_secret_id": "arn:aws:secretsmanager:eu-west-1:1:secret:k"}, "openai"),
    ],
)
def test_model_modules_are_imported_without_building_the_model(settings: dict[str, Any], module: str) -> None:
    """In a fresh process: the modules are loaded, and no model (no key read, no client) exists."""
    probe = (
        "import sys\n"
        "from task_assistant.agent.models import ModelFactory\n"
        "from task_assistant.settings import Settings\n"
        f"models = ModelFactory(Settings(**{settings!r}))\n"
        f"assert {module!r} not in sys.modules\n"
        "models.import_model_modules()\n"
        f"assert {module!r} in sys.modules\n"
        "assert not models._models\n"  # our own private slot: nothing public tells "not built yet"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def _request(client: tuple[str, int] | None, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw, "client": client})


@pytest.mark.parametrize(
    ("client", "headers", "allowed"),
    [
        (("127.0.0.1", 5000), {}, True),
        (("::1", 5000), {}, True),
        (("127.0.0.1", 5000), {"x-amzn-lambda-context": "{}"}, False),
        (("127.0.0.1", 5000), {"x-amzn-request-context": "{}"}, False),
        (("10.0.0.8", 5000), {}, False),
        (("testclient", 50000), {}, False),
        (None, {}, False),
    ],
)
def test_only_the_adapters_own_calls_count_as_hook_calls(
    client: tuple[str, int] | None, headers: dict[str, str], allowed: bool
) -> None:
    assert is_adapter_hook_call(_request(client, headers)) is allowed

"""SnapStart: the hooks the Lambda Web Adapter calls, who may call them, and what restored copies share.

The adapter cannot run here (no binary on these machines), so its side is played over real HTTP exactly
as its source describes it: an empty POST from loopback to the configured path, without the
``x-amzn-*-context`` headers it puts on every forwarded invocation. A restore is simulated with
``os.fork`` in a fresh process (``snapstart_probe.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from support.web import ChatKitCaller, serve, user_message
from task_assistant.local.token_issuer import JWKSServer, LocalIssuer
from task_assistant.settings import Settings, get_settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services
from task_assistant.web.snapstart import AFTER_RESTORE_PATH, BEFORE_CHECKPOINT_PATH, complete_deferred_models
from task_assistant.web.snapstart_routes import install_snapstart_hooks

pytestmark = pytest.mark.timeout(300)

PROBE = Path(__file__).with_name("snapstart_probe.py")
#: What the adapter adds to a request it forwards from an invocation (function URL, API Gateway).
INVOCATION_CONTEXT = {"x-amzn-lambda-context": json.dumps({"request_id": "r-1"})}


def _hooked_app(settings: Settings) -> FastAPI:
    """The streaming app as ``entry/streaming.py`` builds it when the stack turned SnapStart on."""
    hooked = settings.model_copy(
        update={
            "aws_lwa_snapstart_before_checkpoint_path": BEFORE_CHECKPOINT_PATH,
            "aws_lwa_snapstart_after_restore_path": AFTER_RESTORE_PATH,
        }
    )
    app = create_app(hooked, door="function_url", services=Services(hooked))
    assert install_snapstart_hooks(app, hooked) == [BEFORE_CHECKPOINT_PATH, AFTER_RESTORE_PATH]
    return app


def test_without_snapstart_there_are_no_hook_routes(web_settings: Settings) -> None:
    app = create_app(web_settings, door="function_url", services=Services(web_settings))
    assert install_snapstart_hooks(app, web_settings) == []
    with serve(app) as url:
        assert httpx.post(f"{url}{BEFORE_CHECKPOINT_PATH}").status_code == 404
        assert httpx.post(f"{url}{AFTER_RESTORE_PATH}").status_code == 404


def test_hooks_warm_the_app_then_the_first_turn_needs_nothing_more(
    web_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    """Before the snapshot everything a first turn builds exists; after the restore the current keys are
    fetched, and the turn answers without fetching anything more."""
    app = _hooked_app(web_settings)
    services: Services = app.state.services
    with serve(app) as url:
        before = httpx.post(f"{url}{BEFORE_CHECKPOINT_PATH}", timeout=120)
        assert before.status_code == 200, before.text
        counts = before.json()["counts"]
        # openai and chatkit defer hundreds of schemas (fewer here if an earlier test built them): none
        # that can be built is left.
        assert counts["pydantic_models_completed"] >= 0 and complete_deferred_models() == 0
        assert counts["warmup_events"] > 0  # one offline turn ran (it touches no storage: test_chat_warmup)
        assert all(services.built(part) for part in ("chatkit", "tasks", "rate_limits", "verifier"))
        jwks = services.verifier().jwks
        assert jwks.fetch_count == 0  # no keys in the snapshot: they are fetched after the restore

        after = httpx.post(f"{url}{AFTER_RESTORE_PATH}")
        assert after.status_code == 200, after.text
        assert set(after.json()["steps_ms"]) == {"randomness", "connections", "caches"}
        assert after.json()["counts"] == {"jwks_refreshed": 1}
        assert jwks.fetch_count == 1  # the current keys, fetched after the restore

        events = ChatKitCaller(url, issuer.mint(user)).stream(
            "threads.create", {"input": user_message("hello")}
        )
        assert any(e["type"] == "thread.created" for e in events)
        assert jwks.fetch_count == 1


@pytest.mark.parametrize("path", [BEFORE_CHECKPOINT_PATH, AFTER_RESTORE_PATH])
def test_a_forwarded_invocation_cannot_call_a_hook(web_settings: Settings, path: str) -> None:
    """Even if the adapter's own 403 were bypassed: a request carrying an invocation's context is refused."""
    app = _hooked_app(web_settings)
    with serve(app) as url:
        response = httpx.post(f"{url}{path}", headers=INVOCATION_CONTEXT)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert httpx.post(f"{url}{path}", headers={"x-amzn-request-context": "{}"}).status_code == 403
    assert not app.state.services.built("chatkit")  # nothing ran


async def test_a_caller_off_the_loopback_interface_cannot_call_a_hook(web_settings: Settings) -> None:
    app = _hooked_app(web_settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        for path in (BEFORE_CHECKPOINT_PATH, AFTER_RESTORE_PATH):
            assert (await client.post(path)).status_code == 403
    assert not app.state.services.built("chatkit")


# --- what restored copies must not share ---------------------------------------------------------


class _RecordingDynamoDB(BaseHTTPRequestHandler):
    """Answers every DynamoDB call with ``{}`` over keep-alive HTTP/1.1, recording (client port, table)."""

    protocol_version = "HTTP/1.1"
    calls: list[tuple[int, str]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        self.calls.append((self.client_address[1], str(body.get("TableName"))))
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recording_dynamodb() -> Iterator[tuple[str, list[tuple[int, str]]]]:
    calls: list[tuple[int, str]] = []
    handler = type("Handler", (_RecordingDynamoDB,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_restored_copies_share_no_ids_random_state_connections_or_caches(
    recording_dynamodb: tuple[str, list[tuple[int, str]]],
    issuer: LocalIssuer,
    jwks_server: JWKSServer,
) -> None:
    endpoint, calls = recording_dynamodb
    config = {
        "settings": {
            "dynamodb_endpoint_url": endpoint,
            "s3_endpoint_url": endpoint,
            "jwt_issuer": issuer.issuer,
            "jwks_url": jwks_server.url,
            "jwt_client_ids": [issuer.client_id],
        },
        "kid": issuer.kid,
    }
    env = {"AWS_ACCESS_KEY_ID": "probe", "AWS_SECRET_ACCESS_KEY": "probe", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(config)],
        capture_output=True, text=True, timeout=200, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    renewed, shared = report["renewed"], report["shared"]
    assert all("error" not in child for child in renewed + shared), report

    # The control: without the after-restore hook two copies draw the same "random" numbers.
    assert shared[0]["random"] == shared[1]["random"]
    # With it, every stream, id and uuid differs between copies.
    assert renewed[0]["random"] != renewed[1]["random"]
    assert not set(renewed[0]["ids"]) & set(renewed[1]["ids"])
    assert renewed[0]["uuid"] != renewed[1]["uuid"]
    # Caches are not shared: each copy fetches the current JWKS itself and builds its own model.
    assert {child["jwks_fetches"] for child in shared} == {report["parent_jwks_fetches"]}
    assert {child["jwks_fetches"] for child in renewed} == {report["parent_jwks_fetches"] + 1}
    assert not any(child["model_is_the_parents"] for child in renewed)
    # Connections: the snapshot's socket is never reused; each copy opens its own.
    ports = {table: port for port, table in calls}
    parent = ports["parent-before-snapshot"]
    children = [ports["renewed-child-0"], ports["renewed-child-1"]]
    assert parent not in children and children[0] != children[1]


# --- the API function: the Python runtime's own hooks ---------------------------------------------


@pytest.fixture
def api_entry(
    web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, list[Any], list[Any]]]:
    """``task_assistant.entry.api`` imported on a runtime that has ``snapshot_restore_py``.

    The library ships with Lambda's Python runtime (not on PyPI for us to depend on); this stand-in has
    its public registration functions and keeps what is registered, like the real one.
    """
    before: list[Any] = []
    after: list[Any] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = lambda func, *args, **kwargs: before.append((func, args, kwargs))  # type: ignore[attr-defined]
    runtime.register_after_restore = lambda func, *args, **kwargs: after.append((func, args, kwargs))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    env = {
        "DYNAMODB_ENDPOINT_URL": web_settings.dynamodb_endpoint_url,
        "S3_ENDPOINT_URL": web_settings.s3_endpoint_url,
        "CHAT_TABLE_NAME": web_settings.chat_table_name,
        "TASKS_TABLE_NAME": web_settings.tasks_table_name,
        "JWT_ISSUER": web_settings.jwt_issuer,
        "JWKS_URL": web_settings.jwks_url,
        "JWT_CLIENT_IDS": ",".join(web_settings.jwt_client_ids),
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()
    name = "task_assistant.entry.api"  # imported once here, so it registers its hooks once
    api = importlib.reload(sys.modules[name]) if name in sys.modules else importlib.import_module(name)
    yield api, before, after
    get_settings.cache_clear()


async def test_api_function_warms_up_and_renews_through_the_runtime_hooks(
    api_entry: tuple[Any, list[Any], list[Any]], issuer: LocalIssuer
) -> None:
    api, before, after = api_entry
    assert [func for func, _, _ in before] == [api.before_snapshot]
    assert [func for func, _, _ in after] == [api.after_restore]
    services: Services = api.app.state.services
    assert not services.built("tasks")

    await asyncio.to_thread(api.before_snapshot)  # the runtime calls it with no event loop running
    assert all(services.built(part) for part in ("tasks", "rate_limits", "verifier"))
    assert not services.built("chatkit")  # /chatkit goes to the streaming function
    jwks = services.verifier().jwks
    await jwks.get_key(issuer.kid)
    assert issuer.kid in jwks.known_kids

    fetched = jwks.fetch_count
    api.after_restore()
    assert jwks.fetch_count == fetched + 1 and issuer.kid in jwks.known_kids  # the current set, again


def test_without_the_runtime_library_no_hooks_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    import task_assistant.entry.api as api

    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # what an import finds off Lambda
    assert api.register_snapstart_hooks() is False

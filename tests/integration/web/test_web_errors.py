"""The error contract over HTTP: 400s that name the problem, 404/405 as JSON, 413 (declared and
streamed), limit capping, 429 with Retry-After counted in DynamoDB, CORS, and server faults that are
logged with the request id while the client sees a generic message."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from support.web import ChatKitCaller, chatkit_factory, serve, user_message
from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, LocalIssuer
from task_assistant.log import SERVICE_NAME, logger
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client
from task_assistant.web.app import create_app
from task_assistant.web.errors import GENERIC_SERVER_MESSAGE
from task_assistant.web.rate_limits import RateLimitStore
from task_assistant.web.services import Services


@pytest.fixture
def caller(chat_url: str, issuer: LocalIssuer, user: str) -> Iterator[ChatKitCaller]:
    chat = ChatKitCaller(chat_url, issuer.mint(user))
    yield chat
    chat.close()


def _post_raw(chat: ChatKitCaller, content: bytes) -> httpx.Response:
    return chat.client.post("/chatkit", content=content, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (b"{not json", "invalid_json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "invalid_json", "not valid JSON"),
        (b"", "invalid_json", "not valid JSON"),
        (b"[1, 2]", "invalid_request", "JSON object"),
        (b"{}", "invalid_request", "'type' is required"),
        (b'{"type": 7}', "invalid_request", "'type' is required"),
        (b'{"type": "threads.nope", "params": {}}', "invalid_request", "unknown request type 'threads.nope'"),
        (b'{"type": "threads.create", "params": {}}', "invalid_request", "params.input"),
        (b'{"type": "threads.create"}', "invalid_request", "params"),
        (
            b'{"type": "threads.create", "params": {"input": {"content": "x", "attachments": [],'
            b' "inference_options": {}}}}',
            "invalid_request",
            "params.input.content",
        ),
        (b'{"type": "items.list", "params": {"thread_id": 5}}', "invalid_request", "params.thread_id"),
        (b'{"type": "threads.list", "params": {"limit": 0}}', "invalid_request", "limit must be at least 1"),
        (b'{"type": "threads.list", "params": {"order": "sideways"}}', "invalid_request", "params.order"),
        (
            b'{"type": "attachments.create",'
            b' "params": {"name": "a", "size": 99999999999, "mime_type": "text/plain"}}',
            "invalid_request",
            "exceeds the limit",
        ),
        (
            b'{"type": "attachments.create", "params": {"name": "a", "size": 4, "mime_type": "nonsense"}}',
            "invalid_request",
            "mime_type",
        ),
    ],
)
def test_bad_chatkit_bodies_are_400(caller: ChatKitCaller, body: bytes, code: str, needle: str) -> None:
    response = _post_raw(caller, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert needle in error["message"] or needle in json.dumps(error.get("details")), error
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_deeply_nested_json_is_400_on_every_route_that_reads_a_body(
    chat_url: str, issuer: LocalIssuer, user: str
) -> None:
    """A 2 KB body nested a thousand levels deep, and a cursor that decodes to one: 400, never a 500."""
    auth = {"Authorization": f"Bearer {issuer.mint(user)}", "Content-Type": "application/json"}
    deep = b"[" * 2000
    cursor = base64.urlsafe_b64encode(b"[" * 2000).decode()
    with httpx.Client(base_url=chat_url, headers=auth) as client:
        responses = [
            client.post("/chatkit", content=deep),
            client.post("/chatkit", content=b'{"type": "threads.list", "params": ' + b'{"a": ' * 1500 + b"1"),
            client.post("/tasks", content=deep),
            client.patch("/tasks/01JD0000000000000000000001", content=deep),
            client.get("/tasks", params={"cursor": cursor}),
        ]
    for response in responses:
        assert response.status_code == 400, (response.request.url, response.text)
        assert response.json()["error"]["code"] in ("invalid_json", "invalid_request")


def test_a_request_the_server_was_built_without_is_400_unsupported(
    web_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    # Every ChatKit request type is implemented; a server built without a feedback store is the case left.
    def without_feedback(settings: Settings) -> Any:
        server = chatkit_factory()(settings)
        server.feedback = None
        return server

    services = Services(web_settings, chatkit_factory=without_feedback)
    with serve(create_app(web_settings, door="function_url", services=services)) as url:
        caller = ChatKitCaller(url, issuer.mint(user))
        thread, _ = caller.new_thread("hello")
        [item, *_] = caller.items(thread)
        response = caller.post(
            "items.feedback", {"thread_id": thread, "item_ids": [item["id"]], "kind": "positive"}
        )
        caller.close()
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "unsupported"
    assert response.json()["error"]["message"] == "items.feedback is not supported by this server"


def test_missing_ids_are_404_before_streaming(caller: ChatKitCaller) -> None:
    thread, _ = caller.new_thread("hello")
    cases: list[tuple[str, dict[str, Any]]] = [
        ("threads.add_user_message", {"thread_id": "thr_nope", "input": user_message("x")}),
        ("threads.retry_after_item", {"thread_id": thread, "item_id": "msg_nope"}),
        ("threads.create", {"input": user_message("x", ["atc_nope"])}),
        ("threads.get_by_id", {"thread_id": "thr_" + "x" * 1000}),
        ("items.list", {"thread_id": "a#b"}),
        ("attachments.delete", {"attachment_id": ""}),
    ]
    for kind, params in cases:
        response = caller.post(kind, params)
        assert response.status_code == 404, (kind, response.text)
        assert response.headers["content-type"] == "application/json"


def test_state_conflicts_are_refused_before_streaming(caller: ChatKitCaller) -> None:
    thread, _ = caller.new_thread("hello")
    items = caller.items(thread)
    assistant = next(i["id"] for i in items if i["type"] == "assistant_message")
    tool_output = caller.post("threads.add_client_tool_output", {"thread_id": thread, "result": {}})
    assert tool_output.status_code == 409 and "no pending client tool call" in tool_output.text
    retry = caller.post("threads.retry_after_item", {"thread_id": thread, "item_id": assistant})
    assert retry.status_code == 400 and "not a user message" in retry.text
    structured = caller.post(
        "threads.add_structured_input", {"thread_id": thread, "item_id": assistant, "input": {}}
    )
    assert structured.status_code == 400 and "not a structured input" in structured.text


def test_routing_errors_are_json(chat_url: str) -> None:
    missing = httpx.get(f"{chat_url}/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = httpx.get(f"{chat_url}/chatkit")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"


@pytest.fixture(scope="module")
def small_app_url(web_settings: Settings) -> Iterator[str]:
    settings = web_settings.model_copy(update={"max_body_bytes": 2048, "page_size_cap": 2})
    services = Services(settings, chatkit_factory=chatkit_factory())
    with serve(create_app(settings, door="function_url", services=services)) as url:
        yield url


def test_body_over_the_limit_is_413(small_app_url: str, issuer: LocalIssuer, user: str) -> None:
    big = json.dumps({"type": "threads.create", "params": {"input": user_message("x" * 3000)}}).encode()
    headers = {"Authorization": f"Bearer {issuer.mint(user)}", "Content-Type": "application/json"}
    declared = httpx.post(f"{small_app_url}/chatkit", content=big, headers=headers)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    streamed = httpx.post(f"{small_app_url}/chatkit", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    small = json.dumps({"type": "threads.list", "params": {}}).encode()
    assert httpx.post(f"{small_app_url}/chatkit", content=small, headers=headers).status_code == 200
    tasks = httpx.post(f"{small_app_url}/tasks", json={"title": "x" * 3000}, headers=headers)
    assert tasks.status_code == 413


def test_limit_above_the_cap_is_capped(small_app_url: str, issuer: LocalIssuer, user: str) -> None:
    chat = ChatKitCaller(small_app_url, issuer.mint(user))
    thread = None
    for n in range(3):
        thread, _ = chat.new_thread(f"hello {n}")
    assert thread is not None
    chat.stream("threads.add_user_message", {"thread_id": thread, "input": user_message("hello again")})
    page = chat.call("threads.list", {"limit": 10**12})
    assert len(page["data"]) == 2 and page["has_more"] is True
    items = chat.call("items.list", {"thread_id": thread, "limit": 5000})
    assert len(items["data"]) == 2 and items["has_more"] is True
    chat.close()


def test_rate_limit_is_429_with_retry_after(web_settings: Settings, issuer: LocalIssuer, user: str) -> None:
    settings = web_settings.model_copy(update={"rate_limit_per_minute": 3})
    now = 1_800_000_010.0  # 10 s into a window: the window ends in 50 s
    limits = RateLimitStore(settings, clock=lambda: now)
    app = create_app(settings, door="function_url", services=Services(settings, rate_limits=limits))
    with serve(app) as url:
        headers = {"Authorization": f"Bearer {issuer.mint(user)}"}
        statuses = [httpx.get(f"{url}/tasks", headers=headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = httpx.get(f"{url}/tasks", headers=headers)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "50"
        assert limited.json()["error"]["code"] == "rate_limited"
        other = {"Authorization": f"Bearer {issuer.mint(user + '-other')}"}
        assert httpx.get(f"{url}/tasks", headers=other).status_code == 200
        assert httpx.get(f"{url}/health").status_code == 200  # not counted, not limited
    # Counted in DynamoDB (so every Lambda instance shares it), with a TTL after the window.
    item = dynamodb_client(settings).get_item(
        TableName=settings.chat_table_name, Key=RateLimitStore.key(user, 1_800_000_000)
    )["Item"]
    assert item["count"]["N"] == "5" and int(item["expires_at"]["N"]) > 1_800_000_060


def test_cors_preflight_and_headers(chat_url: str, issuer: LocalIssuer) -> None:
    allowed = "http://localhost:5173"
    preflight = httpx.options(
        f"{chat_url}/chatkit",
        headers={
            "Origin": allowed,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == allowed
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    denied = httpx.options(
        f"{chat_url}/chatkit",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in denied.headers
    # Error answers carry CORS headers too, so the browser can show them.
    unauthorized = httpx.post(f"{chat_url}/chatkit", json={}, headers={"Origin": allowed})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["access-control-allow-origin"] == allowed
    assert "WWW-Authenticate" in unauthorized.headers["access-control-expose-headers"]


class _BrokenServer:
    """A ChatKit server whose every request fails with a secret in the message."""

    store: Any = None

    async def process(self, body: bytes, context: Any) -> Any:
        raise RuntimeError("database password is hunter2")


def test_server_fault_is_logged_with_request_id_and_hidden_from_client(
    web_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    # Capture the service's log lines exactly as Powertools formats them (JSON with per-request keys).
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(SERVICE_NAME).addHandler(handler)
    # A stand-in with only the surface Services uses, not a TaskChatKitServer.
    services = Services(web_settings, chatkit_server=_BrokenServer())  # type: ignore[arg-type]
    app: FastAPI = create_app(web_settings, door="function_url", services=services)
    try:
        with serve(app) as url:
            response = httpx.post(
                f"{url}/chatkit",
                json={"type": "threads.list", "params": {}},
                headers={"Authorization": f"Bearer {issuer.mint(user)}"},
            )
    finally:
        logging.getLogger(SERVICE_NAME).removeHandler(handler)
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 500
    error = response.json()["error"]
    assert error == {"code": "internal_error", "message": GENERIC_SERVER_MESSAGE, "request_id": request_id}
    assert "hunter2" not in response.text and "Traceback" not in response.text
    records = [json.loads(line) for line in stream.getvalue().splitlines() if request_id in line]
    assert records, stream.getvalue()
    record = records[0]
    assert record["level"] == "ERROR" and record["message"] == "unhandled error"
    assert record["request_id"] == request_id and record["user_id"] == user
    assert "hunter2" in record["exception"]  # the operator sees the cause


def test_health_touches_nothing(jwks_server: Any) -> None:
    # Storage endpoints that do not exist and no auth configuration: /health still answers.
    settings = Settings(
        dynamodb_endpoint_url="http://127.0.0.1:9", s3_endpoint_url="http://127.0.0.1:9", environment="test"
    )
    services = Services(settings)
    with serve(create_app(settings, door="function_url", services=services)) as url:
        response = httpx.get(f"{url}/health")
    assert response.status_code == 200 and response.json()["environment"] == "test"
    assert not any(services.built(name) for name in ("chatkit", "tasks", "verifier", "rate_limits"))


def test_missing_auth_configuration_is_a_server_fault_not_a_client_error(user: str) -> None:
    settings = Settings(dynamodb_endpoint_url="http://127.0.0.1:9")
    with serve(create_app(settings, door="function_url")) as url:
        response = httpx.get(f"{url}/tasks", headers={"Authorization": "Bearer a.b.c"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"


def test_unreachable_jwks_is_a_503_with_retry_after_on_both_kinds_of_request() -> None:
    """A valid token while the JWKS cannot be reached: retry later (503 + Retry-After), never a 401."""
    issuer = LocalIssuer.generate()
    settings = Settings(
        dynamodb_endpoint_url="http://127.0.0.1:9",
        jwt_issuer=LOCAL_ISSUER,
        jwks_url=f"http://127.0.0.1:{free_port()}/.well-known/jwks.json",
        jwt_client_ids=[LOCAL_CLIENT_ID],
    )
    headers = {"Authorization": f"Bearer {issuer.mint('alice')}"}
    with serve(create_app(settings, door="function_url")) as url:
        tasks = httpx.get(f"{url}/tasks", headers=headers)
        create = {"type": "threads.create", "params": {"input": user_message("hello")}}
        chat = httpx.post(f"{url}/chatkit", headers=headers, json=create)
    for response in (tasks, chat):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "unavailable"
        assert int(response.headers["Retry-After"]) >= 1


class _FailingStreamServer:
    """A ChatKit server whose stream breaks after its first event."""

    store: Any = None

    async def process(self, body: bytes, context: Any) -> Any:
        from chatkit.server import StreamingResult

        async def events() -> Any:
            yield b'data: {"type":"progress_update","text":"working"}\n\n'
            raise RuntimeError("connection string with password hunter2")

        return StreamingResult(events())


def test_fault_mid_stream_ends_with_an_error_event(
    web_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    # A stand-in with only the surface Services uses, not a TaskChatKitServer.
    services = Services(web_settings, chatkit_server=_FailingStreamServer())  # type: ignore[arg-type]
    with serve(create_app(web_settings, door="function_url", services=services)) as url:
        body = {"type": "threads.create", "params": {"input": user_message("hi")}}
        headers = {"Authorization": f"Bearer {issuer.mint(user)}"}
        with httpx.stream("POST", f"{url}/chatkit", json=body, headers=headers) as response:
            events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert response.status_code == 200
    assert [e["type"] for e in events] == ["progress_update", "error"]
    assert events[-1] == {"type": "error", "code": "stream.error", "allow_retry": True}

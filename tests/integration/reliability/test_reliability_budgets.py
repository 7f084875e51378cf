"""Time budgets: a stalled, throttled or unreachable dependency gives a clean error inside the budget.

Real protocols at every edge: DynamoDB behind a fault-injecting proxy or replaced by a server that accepts
connections and never answers, a JWKS URL and a model provider that hang or refuse, the app under uvicorn.
Budgets are scaled down (fractions of a second) so the suite stays fast; the mechanisms are the deployed
ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from pydantic import SecretStr

from support.fault_injection import FaultProxy, StallServer, closed_port_url, writes_an_answer
from support.web import PacedModel, chatkit_factory, serve, sse_events, user_message
from task_assistant.chat.server import MODEL_FAILED_MESSAGE
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client
from task_assistant.storage.failures import dependency_failure
from task_assistant.web.app import create_app
from task_assistant.web.rate_limits import RateLimitStore
from task_assistant.web.services import Services
from task_assistant.web.sse import DEADLINE_MESSAGE, DEPENDENCY_MESSAGE

# Small budgets: two attempts of at most 0.5 s each to connect or read.
FAST_AWS = {"aws_connect_timeout_seconds": 0.5, "aws_read_timeout_seconds": 0.5, "aws_max_attempts": 2}


@pytest.fixture
def stall() -> Iterator[StallServer]:
    with StallServer() as server:
        yield server


def _serve_app(settings: Settings, **services: Any) -> Any:
    app = create_app(settings, door="function_url", services=Services(settings, **services))
    return serve(app)


def _get(url: str, issuer: LocalIssuer, user: str, path: str = "/tasks") -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {issuer.mint(user)}"}, timeout=60)
    return response, time.monotonic() - started


def _stream(url: str, token: str, body: dict[str, Any]) -> tuple[httpx.Response, list[dict[str, Any]], float]:
    started = time.monotonic()
    with httpx.stream(
        "POST", f"{url}/chatkit", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as response:
        if response.status_code == 200:
            events = list(sse_events(response))
        else:
            events = []
            response.read()
    return response, events, time.monotonic() - started


def _assert_unavailable(response: httpx.Response, *, retry_after: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == retry_after
    error = response.json()["error"]
    assert error["code"] == "unavailable" and error["request_id"] == response.headers["X-Request-Id"]


# --- one AWS call ---------------------------------------------------------------------------------


def test_a_call_to_a_stalled_endpoint_gives_up_within_attempts_times_read_timeout(
    base_settings: Settings, stall: StallServer
) -> None:
    client = dynamodb_client(
        base_settings.model_copy(update={**FAST_AWS, "dynamodb_endpoint_url": stall.url})
    )
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError) as raised:
        client.list_tables()
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 2.0, elapsed  # 2 attempts x 0.5 s, plus a backoff of tens of ms
    assert stall.accepted >= 1
    failure = dependency_failure(raised.value)
    assert failure is not None and failure.kind == "unavailable" and failure.retry_after_seconds == 5


def test_a_call_to_a_refusing_endpoint_fails_fast_as_unavailable(base_settings: Settings) -> None:
    client = dynamodb_client(
        base_settings.model_copy(update={**FAST_AWS, "dynamodb_endpoint_url": closed_port_url()})
    )
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError) as raised:
        client.list_tables()
    assert time.monotonic() - started < 1.0
    assert dependency_failure(raised.value) is not None


# --- JSON requests ---------------------------------------------------------------------------------


def test_stalled_dynamodb_answers_503_inside_the_budget_and_the_rate_limit_fails_open(
    base_settings: Settings, stall: StallServer, issuer: LocalIssuer, user: str
) -> None:
    settings = base_settings.model_copy(
        update={**FAST_AWS, "dynamodb_endpoint_url": stall.url, "rate_limit_timeout_seconds": 0.3}
    )
    with _serve_app(settings) as url:
        response, elapsed = _get(url, issuer, user)
    _assert_unavailable(response, retry_after="5")
    assert "could not reach its storage" in response.json()["error"]["message"]
    # 0.3 s of rate-limit budget (failed open), then 2 attempts x 0.5 s of the query; never a minute.
    assert 1.0 < elapsed < 4.0, elapsed


def test_the_request_deadline_cuts_what_the_call_timeouts_would_let_run_longer(
    base_settings: Settings, stall: StallServer, issuer: LocalIssuer, user: str
) -> None:
    settings = base_settings.model_copy(
        update={
            "dynamodb_endpoint_url": stall.url,
            "aws_read_timeout_seconds": 5.0,  # one call could take 3 x 5 s
            "rate_limit_per_minute": 0,
            "request_deadline_seconds": 1.0,
        }
    )
    with _serve_app(settings) as url:
        response, elapsed = _get(url, issuer, user)
    _assert_unavailable(response, retry_after="5")
    assert "did not complete within 1 s" in response.json()["error"]["message"]
    assert 1.0 <= elapsed < 2.5, elapsed


def test_throttled_dynamodb_answers_503_with_retry_after_on_every_json_route(
    base_settings: Settings, aws_endpoint: str, issuer: LocalIssuer, user: str
) -> None:
    with FaultProxy(aws_endpoint) as proxy:
        settings = base_settings.model_copy(update={**FAST_AWS, "dynamodb_endpoint_url": proxy.url})
        with _serve_app(settings, chatkit_factory=chatkit_factory()) as url:
            headers = {"Authorization": f"Bearer {issuer.mint(user)}"}
            warm = {"type": "threads.list", "params": {}}  # builds the ChatKit server first (seconds)
            assert httpx.post(f"{url}/chatkit", json=warm, headers=headers, timeout=60).status_code == 200
            proxy.throttle_rate = 1.0
            started = time.monotonic()
            answers = [
                httpx.get(f"{url}/tasks", headers=headers),
                httpx.post(f"{url}/tasks", json={"title": "milk"}, headers=headers),
                httpx.post(f"{url}/chatkit", json={"type": "threads.list", "params": {}}, headers=headers),
            ]
            elapsed = time.monotonic() - started
    for response in answers:
        _assert_unavailable(response, retry_after="2")
        assert "busy" in response.json()["error"]["message"]
    assert elapsed < 3 * 2.0, elapsed  # each: 2 throttled attempts and one backoff of at most 1 s
    assert proxy.counts["throttle"] >= 6


def test_jwks_down_or_hanging_answers_503_with_retry_after(
    base_settings: Settings, stall: StallServer, issuer: LocalIssuer, user: str
) -> None:
    for jwks_url, most in ((closed_port_url(), 1.0), (stall.url, 5.0)):
        settings = base_settings.model_copy(update={"jwks_url": jwks_url})
        with _serve_app(settings) as url:
            response, elapsed = _get(url, issuer, user)
        assert response.status_code == 503 and response.headers["Retry-After"], response.text
        assert elapsed < most, (jwks_url, elapsed)  # the JWKS fetch's own 3 s timeout when it hangs


def test_the_rate_limit_check_fails_open_within_its_budget(
    base_settings: Settings, stall: StallServer, issuer: LocalIssuer, user: str
) -> None:
    limiter_settings = base_settings.model_copy(update={"dynamodb_endpoint_url": stall.url})
    limits = RateLimitStore(limiter_settings, timeout_seconds=0.3)
    with _serve_app(base_settings, rate_limits=limits) as url:
        _get(url, issuer, user)  # warm: the task service's client and the JWKS
        timings = []
        for _ in range(3):
            response, elapsed = _get(url, issuer, user)
            assert response.status_code == 200, response.text
            timings.append(elapsed)
    assert all(0.3 <= t < 2.0 for t in timings), timings


# --- streams ---------------------------------------------------------------------------------------


def _error_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The turn's one error event; after it, at most ChatKit's closing ``thread.updated``."""
    errors = [n for n, e in enumerate(events) if e["type"] == "error"]
    assert len(errors) == 1, events
    assert {e["type"] for e in events[errors[0] + 1 :]} <= {"thread.updated"}, events
    return events[errors[0]]


#: How a stream that storage failed ends: retryable, saying so.
STORAGE_BUSY_EVENT = {"type": "error", "code": "custom", "message": DEPENDENCY_MESSAGE, "allow_retry": True}


def _message(thread_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "threads.add_user_message",
        "params": {"thread_id": thread_id, "input": user_message(text)},
    }


@contextmanager
def _app_and_thread(base_settings: Settings, proxy: FaultProxy, token: str) -> Iterator[tuple[str, str]]:
    """The app with DynamoDB behind ``proxy`` (short AWS budgets, no rate limit), and a thread of the
    token's user made while nothing fails: (the app's URL, the thread id)."""
    settings = base_settings.model_copy(
        update={**FAST_AWS, "dynamodb_endpoint_url": proxy.url, "rate_limit_per_minute": 0}
    )
    with _serve_app(settings, chatkit_factory=chatkit_factory()) as url:
        _, events, _ = _stream(
            url, token, {"type": "threads.create", "params": {"input": user_message("hi")}}
        )
        yield url, events[0]["thread"]["id"]


def test_a_stream_on_stalled_dynamodb_ends_with_a_retryable_error_and_a_request_on_a_thread_with_503(
    base_settings: Settings, aws_endpoint: str, issuer: LocalIssuer, user: str
) -> None:
    token = issuer.mint(user)
    with (
        FaultProxy(aws_endpoint, stall_seconds=3.0) as proxy,
        _app_and_thread(base_settings, proxy, token) as (url, thread_id),
    ):
        proxy.mode = "stall"
        # A new thread: nothing to check before the stream opens; the first write stalls inside it.
        response, events, elapsed = _stream(
            url, token, {"type": "threads.create", "params": {"input": user_message("hello")}}
        )
        assert response.status_code == 200
        assert _error_event(events) == STORAGE_BUSY_EVENT
        assert elapsed < 3.0, elapsed
        # An existing thread is loaded before the stream opens: a JSON 503.
        response, _, elapsed = _stream(url, token, _message(thread_id, "x"))
        _assert_unavailable(response, retry_after="5")
        assert elapsed < 3.0, elapsed


def test_a_throttled_write_of_the_answer_ends_the_stream_saying_storage_is_busy_and_a_retry_answers(
    base_settings: Settings,
    aws_endpoint: str,
    issuer: LocalIssuer,
    user: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = issuer.mint(user)
    with (
        FaultProxy(aws_endpoint) as proxy,
        _app_and_thread(base_settings, proxy, token) as (url, thread_id),
    ):
        # ChatKit's own write of the finished answer, inside its event loop, is throttled every time.
        proxy.throttle_when = writes_an_answer
        response, events, _ = _stream(url, token, _message(thread_id, "add buy milk"))
        assert response.status_code == 200
        assert proxy.counts["throttle"] >= 2, proxy.counts
        assert _error_event(events) == STORAGE_BUSY_EVENT
        # Logged with the call that failed (ChatKit itself logs nothing for an error it reports).
        warnings = [r for r in caplog.records if r.getMessage() == "chat storage call failed"]
        assert warnings and warnings[-1].__dict__["operation"] == "put_item", caplog.records
        # The user's message was saved before the turn ran: retrying it answers it once it can be written.
        proxy.heal()
        items = httpx.post(
            f"{url}/chatkit",
            json={"type": "items.list", "params": {"thread_id": thread_id, "order": "desc", "limit": 5}},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["data"]
        mine = next(i for i in items if i["type"] == "user_message")
        assert mine["content"][0]["text"] == "add buy milk"
        retry = {
            "type": "threads.retry_after_item",
            "params": {"thread_id": thread_id, "item_id": mine["id"]},
        }
        response, events, _ = _stream(url, token, retry)
        assert not [e for e in events if e["type"] == "error"], events
        answer = [e["item"] for e in events if e["type"] == "thread.item.done"]
        assert any(i["type"] == "assistant_message" for i in answer), events


def test_a_stream_past_its_deadline_stops_with_a_retryable_error_and_keeps_the_partial_answer(
    base_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    settings = base_settings.model_copy(update={"stream_deadline_seconds": 3.0})
    token = issuer.mint(user)
    with _serve_app(settings, chatkit_factory=chatkit_factory(PacedModel(1.0))) as url:
        warm = {"type": "threads.list", "params": {}}  # builds the ChatKit server (imports: seconds)
        httpx.post(f"{url}/chatkit", json=warm, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        response, events, elapsed = _stream(
            url, token, {"type": "threads.create", "params": {"input": user_message("hello")}}
        )
        assert response.status_code == 200
        error = _error_event(events)
        assert error == {"type": "error", "code": "custom", "message": DEADLINE_MESSAGE, "allow_retry": True}
        assert 3.0 <= elapsed < 5.0, elapsed
        streamed = "".join(
            e["update"]["delta"]
            for e in events
            if e["type"] == "thread.item.updated" and e["update"]["type"].endswith("text_delta")
        )
        assert streamed
        thread_id = events[0]["thread"]["id"]
        items = httpx.post(
            f"{url}/chatkit",
            json={"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["data"]
    kinds = [i["type"] for i in items]
    assert kinds == ["user_message", "assistant_message"], kinds
    saved = "".join(part["text"] for part in items[1]["content"])
    assert saved == streamed  # what the user saw is what is kept


@pytest.mark.parametrize("provider", ["refuses", "hangs"])
def test_a_model_provider_that_is_down_or_hangs_ends_the_turn_with_a_retryable_error(
    base_settings: Settings, stall: StallServer, issuer: LocalIssuer, user: str, provider: str
) -> None:
    base_url = closed_port_url() if provider == "refuses" else stall.url
    settings = base_settings.model_copy(
        update={
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": f"{base_url}/v1",
            "model_timeout_seconds": 1.0,
        }
    )
    token = issuer.mint(user)
    with _serve_app(settings, chatkit_factory=chatkit_factory()) as url:
        response, events, elapsed = _stream(
            url, token, {"type": "threads.create", "params": {"input": user_message("hello")}}
        )
    assert response.status_code == 200
    error = _error_event(events)
    assert error == {"type": "error", "code": "custom", "message": MODEL_FAILED_MESSAGE, "allow_retry": True}
    user_items = [
        e for e in events if e["type"] == "thread.item.done" and e["item"]["type"] == "user_message"
    ]
    assert len(user_items) == 1  # the message was saved before the model was asked
    # 3 attempts (the client's 2 retries with backoff); each at most 1 s when the provider hangs.
    assert elapsed < 10.0, elapsed
    assert json.dumps(events).count("sk-test") == 0

"""The Lambda doors with the event files in tests/events (the same files `sam local invoke` takes):
API Gateway REST events through the real `task_assistant.entry.api.handler` (Mangum + Powertools), and
function URL events through the app's function_url door."""

from __future__ import annotations

import copy
import importlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mangum import Mangum

from support.web import chatkit_factory
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LocalIssuer
from task_assistant.settings import Settings, get_settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services

EVENTS = Path(__file__).parents[2] / "events"


# The event files name a placeholder app client (replaced by hand for `sam local invoke`); the app checks
# the authorizer's client id, so the tests put in the one the test settings accept.
_CLIENT_PLACEHOLDER = "replace-with-your-app-client-id"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text().replace(_CLIENT_PLACEHOLDER, LOCAL_CLIENT_ID))


@dataclass
class FakeLambdaContext:
    function_name: str = "task-assistant-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:task-assistant-api"
    aws_request_id: str = "5f5c3f5e-0000-4000-8000-000000000042"
    log_group_name: str = "/aws/lambda/task-assistant-api"
    log_stream_name: str = "2026/11/22/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Call a Lambda handler on its own thread, as the Lambda runtime does (no running event loop)."""
    result: dict[str, Any] = {}

    def run() -> None:
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())
        result["response"] = handler(event, FakeLambdaContext())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return result["response"]


@pytest.fixture
def api_handler(web_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`task_assistant.entry.api.handler`, imported with the environment pointing at the test stack."""
    env = {
        "DYNAMODB_ENDPOINT_URL": web_settings.dynamodb_endpoint_url,
        "S3_ENDPOINT_URL": web_settings.s3_endpoint_url,
        "CHAT_TABLE_NAME": web_settings.chat_table_name,
        "TASKS_TABLE_NAME": web_settings.tasks_table_name,
        "ATTACHMENTS_BUCKET": web_settings.attachments_bucket,
        "JWT_ISSUER": web_settings.jwt_issuer,
        "JWKS_URL": web_settings.jwks_url,
        "JWT_CLIENT_IDS": ",".join(web_settings.jwt_client_ids),
        "RATE_LIMIT_PER_MINUTE": "0",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "TaskAssistantTest",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()
    import task_assistant.entry.api as api

    api = importlib.reload(api)
    yield api.handler
    get_settings.cache_clear()


def test_api_gateway_events_through_the_lambda_handler(api_handler: Any) -> None:
    health = invoke(api_handler, load("api_health.json"))
    assert health["statusCode"] == 200 and json.loads(health["body"])["status"] == "ok"

    created = invoke(api_handler, load("api_tasks_create.json"))
    assert created["statusCode"] == 201, created
    task = json.loads(created["body"])
    assert task["title"] == "Buy milk"

    listed = invoke(api_handler, load("api_tasks_list.json"))
    assert listed["statusCode"] == 200
    assert task["id"] in [t["id"] for t in json.loads(listed["body"])["tasks"]]

    missing = invoke(api_handler, load("api_tasks_get_missing.json"))
    assert missing["statusCode"] == 404

    anonymous = invoke(api_handler, load("api_tasks_no_authorizer.json"))
    assert anonymous["statusCode"] == 401 and "www-authenticate" in anonymous["headers"]

    threads = invoke(api_handler, load("api_chatkit_threads_list.json"))
    assert threads["statusCode"] == 200 and json.loads(threads["body"])["data"] == []

    bad = invoke(api_handler, load("api_chatkit_bad_type.json"))
    assert bad["statusCode"] == 400 and "threads.nope" in bad["body"]
    # The Lambda request id is the request id the client sees and the logs carry.
    assert bad["headers"]["x-request-id"] == FakeLambdaContext.aws_request_id


def test_api_gateway_identity_comes_from_the_authorizer(
    web_settings: Settings, issuer: LocalIssuer, user: str
) -> None:
    adapter = Mangum(create_app(web_settings, door="api_gateway"), lifespan="off")
    event = load("api_tasks_create.json")
    event["requestContext"]["authorizer"]["claims"]["sub"] = user
    created = invoke(adapter, event)
    assert created["statusCode"] == 201

    listing = load("api_tasks_list.json")
    listing["requestContext"]["authorizer"]["claims"]["sub"] = user
    listing["queryStringParameters"] = listing["multiValueQueryStringParameters"] = None
    # Headers a client can set freely change nothing about who the caller is.
    forged = copy.deepcopy(listing)
    forged["headers"]["X-User-Id"] = "someone-else"
    forged["multiValueHeaders"]["X-User-Id"] = ["someone-else"]
    assert len(json.loads(invoke(adapter, forged)["body"])["tasks"]) == 1

    # A token sent along is verified and must be the authorizer's user.
    for token, status in [(issuer.mint(user), 200), (issuer.mint(user + "-x"), 401), ("a.b.c", 401)]:
        with_token = copy.deepcopy(listing)
        with_token["headers"]["Authorization"] = token  # raw, as API Gateway's Cognito authorizer takes it
        with_token["multiValueHeaders"]["Authorization"] = [token]
        assert invoke(adapter, with_token)["statusCode"] == status, token


def test_function_url_events_through_the_app(web_settings: Settings, issuer: LocalIssuer, user: str) -> None:
    services = Services(web_settings, chatkit_factory=chatkit_factory())
    adapter = Mangum(create_app(web_settings, door="function_url", services=services), lifespan="off")
    token = issuer.mint(user)

    def with_token(name: str) -> dict[str, Any]:
        event = load(name)
        event["headers"]["authorization"] = f"Bearer {token}"
        return event

    assert invoke(adapter, load("function_url_health.json"))["statusCode"] == 200
    assert invoke(adapter, load("function_url_tasks_list.json"))["statusCode"] == 401  # placeholder token
    assert invoke(adapter, with_token("function_url_tasks_list.json"))["statusCode"] == 200

    chat = invoke(adapter, with_token("function_url_chatkit_create.json"))
    assert chat["statusCode"] == 200 and chat["headers"]["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in chat["body"].splitlines() if line.startswith("data: ")]
    assert events[0]["type"] == "thread.created"
    assert any(e["type"] == "thread.item.done" and e["item"]["type"] == "assistant_message" for e in events)
    tasks = invoke(adapter, with_token("function_url_tasks_list.json"))
    assert [t["title"] for t in json.loads(tasks["body"])["tasks"]] == ["buy milk"]


def test_api_gateway_refuses_another_app_clients_claims(web_settings: Settings, user: str) -> None:
    # A REST Cognito authorizer lets through tokens of any app client of the pool; the app does not.
    adapter = Mangum(create_app(web_settings, door="api_gateway"), lifespan="off")
    listing = load("api_tasks_list.json")
    listing["requestContext"]["authorizer"]["claims"]["sub"] = user
    listing["queryStringParameters"] = listing["multiValueQueryStringParameters"] = None
    assert invoke(adapter, listing)["statusCode"] == 200
    foreign = copy.deepcopy(listing)
    foreign["requestContext"]["authorizer"]["claims"]["aud"] = "another-app-client"
    answer = invoke(adapter, foreign)
    assert answer["statusCode"] == 401, answer
    assert "audience" in json.loads(answer["body"])["error"]["message"]
    refresh = copy.deepcopy(listing)
    refresh["requestContext"]["authorizer"]["claims"]["token_use"] = "refresh"
    assert invoke(adapter, refresh)["statusCode"] == 401


def test_api_gateway_serves_the_page_under_its_stage(web_settings: Settings) -> None:
    """Behind API Gateway the app sees paths without the stage: the page's URLs come from PAGE_URL."""
    page_url = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"
    domain = "https://tasks-prod.auth.us-east-1.amazoncognito.com"
    settings = web_settings.model_copy(update={"page_url": page_url, "page_auth_domain": domain})
    adapter = Mangum(create_app(settings, door="api_gateway"), lifespan="off")
    page = invoke(adapter, load("api_page.json"))
    assert page["statusCode"] == 200, page
    assert page["headers"]["content-type"] == "text/html; charset=utf-8"
    assert page["isBase64Encoded"] is False and 'src="web/page.js"' in page["body"]
    assert domain in page["headers"]["content-security-policy"]

    config_event = load("api_page.json")
    config_event["path"] = config_event["resource"] = "/web/config.json"
    config = json.loads(invoke(adapter, config_event)["body"])
    assert config["chatkit"]["url"] == f"{page_url}chatkit"
    assert config["signIn"]["kind"] == "cognito" and config["signIn"]["redirectUri"] == page_url

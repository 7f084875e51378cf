"""The browser-facing surface over HTTP (real uvicorn): the CORS policy with the exact headers the ChatKit
web component sends, the page and its configuration, and the local-only token route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support.web import serve, sse_events, user_message
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.local.web_sign_in import LOCAL_TOKEN_PATH, install_local_sign_in
from task_assistant.settings import Settings
from task_assistant.web import cors
from task_assistant.web.app import create_app
from task_assistant.web.page import CHATKIT_ORIGIN, CHATKIT_SCRIPT_URL
from task_assistant.web.page_paths import PUBLIC_PATHS
from task_assistant.web.services import Services

ALLOWED = "http://localhost:5173"

# What Chromium puts in the preflight of a ChatKit web component request (api.fetch adds Authorization):
# the non-safelisted request headers, lower case, sorted. Accept and Accept-Language are safelisted.
WIDGET_PREFLIGHT_HEADERS = "authorization,chatkit-device-id,chatkit-frame-instance-id,content-type"
WIDGET_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "text/event-stream",
    "Accept-Language": "en-GB,en;q=0.9",
    "ChatKit-Device-Id": "device-4f1c",
    "ChatKit-Frame-Instance-Id": "frame-9b2e",
}


def _preflight(url: str, request_headers: str, origin: str = ALLOWED) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": request_headers,
        },
    )


def test_preflight_with_the_web_components_headers_passes(chat_url: str) -> None:
    response = _preflight(f"{chat_url}/chatkit", WIDGET_PREFLIGHT_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert set(WIDGET_PREFLIGHT_HEADERS.split(",")) <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-max-age"] == str(cors.MAX_AGE_SECONDS)


def test_every_header_of_the_one_list_is_allowed_and_nothing_else(chat_url: str) -> None:
    everything = ",".join(h.lower() for h in cors.ALLOW_HEADERS)
    assert _preflight(f"{chat_url}/chatkit", everything).status_code == 200
    for header in ("chatkit-frame-instance-id", "chatkit-device-id", "if-match", "x-request-id"):
        assert _preflight(f"{chat_url}/tasks", header).status_code == 200, header
    refused = _preflight(f"{chat_url}/chatkit", "authorization,x-not-on-the-list")
    assert refused.status_code == 400
    assert (
        "access-control-allow-origin"
        not in _preflight(
            f"{chat_url}/chatkit", WIDGET_PREFLIGHT_HEADERS, origin="https://evil.example"
        ).headers
    )


def test_a_request_with_the_web_components_headers_streams_and_exposes_headers(
    chat_url: str, issuer: LocalIssuer, user: str
) -> None:
    headers = {**WIDGET_HEADERS, "Origin": ALLOWED, "Authorization": f"Bearer {issuer.mint(user)}"}
    body = {"type": "threads.create", "params": {"input": user_message("add buy bread")}}
    with httpx.stream("POST", f"{chat_url}/chatkit", json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED
        exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
        assert {"x-request-id", "retry-after", "www-authenticate"} <= exposed
        events = list(sse_events(response))
    assert any(e["type"] == "thread.created" for e in events)


# --- the page ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_page_url(web_settings: Settings, issuer: LocalIssuer) -> Iterator[str]:
    """The app as `make dev` builds it: the function-URL door plus the local token route."""
    app = create_app(web_settings, door="function_url", services=Services(web_settings))
    install_local_sign_in(app, issuer, default_user="dev")
    with serve(app) as url:
        yield url


def test_page_is_served_with_its_content_security_policy(chat_url: str, web_settings: Settings) -> None:
    page = httpx.get(f"{chat_url}/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'src="web/page.js"' in page.text and "<script>" not in page.text  # no inline script
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == f"'self' {CHATKIT_ORIGIN}"
    assert policy["frame-src"] == CHATKIT_ORIGIN
    assert policy["frame-ancestors"] == "'none'"
    connect = policy["connect-src"].split()
    assert chat_url in connect  # ChatKit and the token
    assert str(web_settings.s3_endpoint_url).rstrip("/") in connect  # presigned attachment uploads
    for asset, media_type in (("page.js", "text/javascript"), ("page.css", "text/css")):
        response = httpx.get(f"{chat_url}/web/{asset}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
    assert httpx.get(f"{chat_url}/web/index.html").status_code == 404  # only the listed assets


def test_page_config_without_a_sign_in_method_says_so(chat_url: str) -> None:
    config = httpx.get(f"{chat_url}/web/config.json").json()
    assert config == {
        "chatkit": {
            "url": f"{chat_url}/chatkit",
            "domainKey": "local-dev",
            "scriptUrl": CHATKIT_SCRIPT_URL,
            # The offline model: feedback buttons, no dictation, no model picker.
            "options": {"threadItemActions": {"feedback": True}},
        },
        "signIn": {"kind": "none"},
    }


def test_deployed_page_signs_in_with_cognito_code_and_pkce(web_settings: Settings) -> None:
    page_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/"
    domain = "https://task-assistant-dev-123.auth.eu-west-1.amazoncognito.com"
    settings = web_settings.model_copy(
        update={
            "page_url": page_url,
            "page_auth_domain": domain,
            "jwt_client_ids": ["web-client-id"],
            "chatkit_domain_key": "domain_pk_123",
        }
    )
    with serve(create_app(settings, door="function_url", services=Services(settings))) as url:
        config = httpx.get(f"{url}/web/config.json").json()
        policy = httpx.get(f"{url}/").headers["content-security-policy"]
        assert httpx.get(f"{url}{LOCAL_TOKEN_PATH}").status_code == 404  # never in a deployed app
    assert config["chatkit"] == {
        "url": f"{page_url}chatkit",
        "domainKey": "domain_pk_123",
        "scriptUrl": CHATKIT_SCRIPT_URL,
        "options": {"threadItemActions": {"feedback": True}},
    }
    assert config["signIn"] == {
        "kind": "cognito",
        "domain": domain,
        "clientId": "web-client-id",
        "redirectUri": page_url,
        "scopes": ["openid", "email", "profile", "task-assistant/api"],  # the API's scope: see scopes.py
    }
    assert domain in policy and "https://abc123.execute-api.eu-west-1.amazonaws.com" in policy


def test_local_token_route_exists_only_in_local_mode(chat_url: str, local_page_url: str) -> None:
    assert httpx.get(f"{chat_url}{LOCAL_TOKEN_PATH}").status_code == 404
    config = httpx.get(f"{local_page_url}/web/config.json").json()
    token_url = f"{local_page_url}{LOCAL_TOKEN_PATH}"
    assert config["signIn"] == {"kind": "local", "tokenUrl": token_url, "user": "dev"}


def test_local_token_is_accepted_by_the_app(local_page_url: str, user: str) -> None:
    response = httpx.get(f"{local_page_url}{LOCAL_TOKEN_PATH}", params={"user": user})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["user"] == user and body["token_type"] == "Bearer" and body["expires_in"] > 3600
    tasks = httpx.get(f"{local_page_url}/tasks", headers={"Authorization": f"Bearer {body['token']}"})
    assert tasks.status_code == 200, tasks.text


def test_local_token_route_refuses_bad_names_and_non_loopback_hosts(local_page_url: str) -> None:
    bad = httpx.get(f"{local_page_url}{LOCAL_TOKEN_PATH}", params={"user": "no spaces"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_request"
    # DNS rebinding: a page on another site whose name now points at 127.0.0.1 sends its own Host.
    rebound = httpx.get(f"{local_page_url}{LOCAL_TOKEN_PATH}", headers={"Host": "evil.example"})
    assert rebound.status_code == 403
    assert "loopback" in rebound.json()["error"]["message"]
    assert "token" not in rebound.json()


def test_page_routes_need_no_token_but_stay_out_of_the_api_docs(chat_url: str) -> None:
    for path in PUBLIC_PATHS:
        assert httpx.get(f"{chat_url}{path}").status_code == 200, path
    paths = httpx.get(f"{chat_url}/openapi.json").json()["paths"]
    assert "/" not in paths and not any(path.startswith(("/web", "/local")) for path in paths)

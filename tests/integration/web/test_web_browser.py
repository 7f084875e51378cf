"""The page in a real browser: headless Chromium (Debian's package) driven by Playwright, against the real
app under uvicorn with the embedded AWS and the local issuer.

The page is served from one loopback origin and the app listens on another, so every ChatKit request is a
real cross-origin request with a real preflight, as when the page is hosted apart from the API. The page's
own code gets a token from the local-only route, sends ChatKit requests with the web component's headers
through its fetch wrapper and shows the streamed answer. OpenAI's CDN cannot be reached here, and the
browser is told so deterministically (its resolver fails the CDN's host name): the page must say so and
fall back to its basic chat. Another test serves a stand-in for the web component that records the options
the page hands it and calls ``api.fetch`` the way the widget does. What only a browser with internet adds:
the real widget's rendering.

Playwright answers CORS preflights itself while any ``page.route`` is active (it enables request
interception for every request), so the preflight test uses no routes at all.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from support.cognito_stand_in import CognitoStandIn
from support.web import assistant_text, chatkit_factory, serve
from task_assistant.agent.offline import with_offline_note
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LocalIssuer
from task_assistant.local.web_sign_in import install_local_sign_in
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.page import CHATKIT_SCRIPT_URL, STATIC_DIR, content_security_policy
from task_assistant.web.page_paths import ASSETS
from task_assistant.web.scopes import API_SCOPE
from task_assistant.web.services import Services

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The CDN is unreachable: make it so for certain, without request interception (see above).
    f"--host-resolver-rules=MAP {urlsplit(CHATKIT_SCRIPT_URL).hostname} ~NOTFOUND",
]
WIDGET_HEADERS = {"chatkit-frame-instance-id", "chatkit-device-id", "authorization", "content-type"}

# Stands in for OpenAI's chatkit.js (unreachable here): an <openai-chatkit> element that keeps the options
# the page gives it, as the real web component does with setOptions.
STAND_IN_WIDGET = """
customElements.define("openai-chatkit", class extends HTMLElement {
  setOptions(options) { window.chatkitOptions = options; }
});
"""


@dataclass
class Preflights:
    """The CORS preflights the app answered: (path, origin, requested headers, status)."""

    seen: list[tuple[str, str, set[str], int]] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] != "OPTIONS":
                await app(scope, receive, send)
                return
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            requested = {h.strip() for h in headers.get("access-control-request-headers", "").split(",") if h}

            async def send_recorded(message: Message) -> None:
                if message["type"] == "http.response.start":
                    self.seen.append((scope["path"], headers.get("origin", ""), requested, message["status"]))
                await send(message)

            await app(scope, receive, send_recorded)

        return recorded


class PageHost:
    """The page's static files on their own loopback origin, as a separately hosted frontend would serve
    them, with a config document pointing at the app and the page's Content-Security-Policy."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.policy = ""
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/":
                    body, media_type = (STATIC_DIR / "index.html").read_bytes(), "text/html; charset=utf-8"
                elif path == "/web/config.json":
                    body, media_type = json.dumps(host.config).encode(), "application/json"
                elif path.startswith("/web/") and path[5:] in ASSETS:
                    body, media_type = (STATIC_DIR / path[5:]).read_bytes(), ASSETS[path[5:]]
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Security-Policy", host.policy)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="page-host", daemon=True)

    def __enter__(self) -> PageHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Stack:
    app_url: str
    page_url: str
    preflights: Preflights


@pytest.fixture(scope="module")
def stack(web_settings: Settings, issuer: LocalIssuer) -> Iterator[Stack]:
    with PageHost() as host:
        settings = web_settings.model_copy(update={"cors_origins": [host.url]})
        services = Services(settings, chatkit_factory=chatkit_factory())
        app = create_app(settings, door="function_url", services=services)
        install_local_sign_in(app, issuer, default_user="dev")
        preflights = Preflights()
        with serve(preflights.wrap(app)) as app_url:
            # The app's own config document (absolute URLs to itself) is what the other origin serves.
            host.config = httpx.get(f"{app_url}/web/config.json").json()
            host.policy = content_security_policy(settings, host.config)
            yield Stack(app_url=app_url, page_url=f"{host.url}/", preflights=preflights)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package (`make test` does) "
            "or point CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not violations, f"the page broke its own Content-Security-Policy: {violations}"


def test_offline_page_from_another_origin_signs_in_and_chats_through_the_real_preflight(
    stack: Stack, page: Page, user: str
) -> None:
    page.goto(f"{stack.page_url}?user={user}")

    notice = page.locator("#chatkit-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("The ChatKit chat window could not be loaded.")
    expect(notice).to_contain_text("cdn.platform.openai.com")
    expect(page.locator("#account-name")).to_have_text(f"Signed in as {user} (local)")

    page.get_by_label("Message").fill("add buy milk")
    page.get_by_role("button", name="Send").click()
    answers = page.locator("#transcript li.assistant")
    expect(answers.first).to_contain_text("Added \u201cbuy milk\u201d to your list.")
    expect(answers.first).not_to_have_attribute("aria-busy", "true")
    # What the tool did, from the workflow item, above the answer.
    expect(answers.first.locator("ul.activity li.complete")).to_have_text("Added \u201cbuy milk\u201d")

    page.get_by_label("Message").fill("show my tasks")
    page.get_by_role("button", name="Send").click()
    expect(answers.nth(1)).to_contain_text("buy milk")
    # The task list widget and its Complete button: a click is a sync action, answered with the redrawn list.
    row = answers.nth(1).locator("div.widget li").filter(has_text="buy milk")
    row.get_by_role("button", name="Complete").click()
    expect(row.locator(".widget-badge")).to_have_text("Done")
    expect(row.locator(".done")).to_have_text("buy milk")
    expect(row.get_by_role("button")).to_have_count(0)
    if shots := os.environ.get("PAGE_SCREENSHOT_DIR"):  # to look at what a user sees
        page.screenshot(path=str(Path(shots) / "offline-page.png"), full_page=True)

    chatkit_preflights = [p for p in stack.preflights.seen if p[0] == "/chatkit"]
    assert chatkit_preflights, "the browser sent no preflight: the request was not cross-origin"
    for _, origin, requested, status in chatkit_preflights:
        assert origin == stack.page_url.rstrip("/")
        assert requested >= WIDGET_HEADERS, requested
        assert status == 200
    # The answer was acted on for the signed-in user, in one thread.
    token = httpx.get(f"{stack.app_url}/local/token", params={"user": user}).json()["token"]
    tasks = httpx.get(f"{stack.app_url}/tasks", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(t["title"], t["status"]) for t in tasks["tasks"]] == [("buy milk", "completed")]


def test_page_served_by_the_app_hands_the_web_component_its_server_token_and_upload_strategy(
    stack: Stack, page: Page, user: str
) -> None:
    """The page as `make dev` serves it (the app's own origin and Content-Security-Policy)."""
    # (With this route active Playwright fakes preflights: CORS is the other test's business.)
    page.route(
        CHATKIT_SCRIPT_URL, lambda route: route.fulfill(body=STAND_IN_WIDGET, content_type="text/javascript")
    )
    sent: dict[str, dict[str, str]] = {}
    page.on("request", lambda r: sent.__setitem__(r.url, r.headers) if r.method in ("POST", "GET") else None)
    page.goto(f"{stack.app_url}/?user={user}")

    expect(page.locator("openai-chatkit")).to_be_attached()
    expect(page.locator("#chatkit-notice")).to_be_hidden()
    expect(page.locator("#basic-chat")).to_be_hidden()
    options = page.evaluate(
        "() => ({...window.chatkitOptions.api, fetch: typeof window.chatkitOptions.api.fetch})"
    )
    assert options == {
        "url": f"{stack.app_url}/chatkit",
        "domainKey": "local-dev",
        "fetch": "function",
        "uploadStrategy": {"type": "two_phase"},
    }

    # What the web component does with api.fetch: a ChatKit request with its own headers, read as a stream.
    answer = page.evaluate(
        """async (url) => {
            const response = await window.chatkitOptions.api.fetch(url, {
                method: "POST",
                headers: {"Content-Type": "application/json", "Accept": "text/event-stream",
                          "ChatKit-Frame-Instance-Id": "frame-1", "ChatKit-Device-Id": "device-1"},
                body: JSON.stringify({type: "threads.create", params: {input: {
                    content: [{type: "input_text", text: "add water the plants"}], quoted_text: "",
                    attachments: [], inference_options: {}}}}),
            });
            return {status: response.status, type: response.headers.get("content-type"),
                    requestId: response.headers.get("x-request-id"), body: await response.text()};
        }""",
        f"{stack.app_url}/chatkit",
    )
    assert answer["status"] == 200
    assert answer["type"].startswith("text/event-stream")
    assert answer["requestId"]  # exposed to page scripts by the CORS policy
    events = [json.loads(line[6:]) for line in answer["body"].splitlines() if line.startswith("data: ")]
    assert assistant_text(events) == with_offline_note("Added \u201cwater the plants\u201d to your list.")
    assert sent[f"{stack.app_url}/chatkit"]["authorization"].startswith("Bearer ")

    # Anything else the widget fetches (presigned uploads) goes out without the token.
    page.evaluate("(url) => window.chatkitOptions.api.fetch(url)", f"{stack.app_url}/health")
    assert "authorization" not in sent[f"{stack.app_url}/health"]

    # The @-mention picker: typing "@wat" in the composer asks entities.onTagSearch("wat").
    entities = page.evaluate("() => window.chatkitOptions.entities.onTagSearch('WAT')")
    [entity] = entities
    assert {k: entity[k] for k in ("title", "group", "icon", "interactive")} == {
        "title": "water the plants",
        "group": "Pending",
        "icon": "empty-circle",
        "interactive": True,
    }
    assert sent[f"{stack.app_url}/tasks/search?q=WAT&limit=10"]["authorization"].startswith("Bearer ")
    assert page.evaluate("() => window.chatkitOptions.entities.onTagSearch('nothing like it')") == []
    assert page.evaluate("() => window.chatkitOptions.entities.showComposerMenu") is True
    # Hovering a tag previews the task as it is now (a Basic widget), or says it is gone.
    preview = page.evaluate("(e) => window.chatkitOptions.entities.onRequestPreview(e)", entity)
    texts = json.dumps(preview["preview"])
    assert preview["preview"]["type"] == "Basic" and "water the plants" in texts and "Pending" in texts
    gone = page.evaluate(
        "(e) => window.chatkitOptions.entities.onRequestPreview(e)",
        {**entity, "id": "01JD0000000000000000000000"},
    )
    assert "This task no longer exists." in json.dumps(gone["preview"])


# --- deployed mode: Cognito managed login, authorization code + PKCE ------------------------------


@pytest.fixture(scope="module")
def cognito_page(web_settings: Settings, issuer: LocalIssuer) -> Iterator[tuple[str, CognitoStandIn]]:
    """The app as deployed (no local token route) with sign-in at a stand-in for Cognito's hosted UI.

    The stand-in says its tokens last 30 s, so the page counts them as stale at once and must use the
    refresh token: both grants of the flow are exercised.
    """
    with CognitoStandIn(
        issuer, client_id=LOCAL_CLIENT_ID, user="carol-sub", email="carol@example.com", expires_in=30
    ) as cognito:
        settings = web_settings.model_copy(
            update={"page_auth_domain": cognito.url, "page_client_id": LOCAL_CLIENT_ID}
        )
        services = Services(settings, chatkit_factory=chatkit_factory())
        with serve(create_app(settings, door="function_url", services=services)) as app_url:
            cognito.redirect_uri = f"{app_url}/"
            yield app_url, cognito


def test_deployed_page_signs_in_with_code_and_pkce_chats_and_signs_out(
    cognito_page: tuple[str, CognitoStandIn], page: Page
) -> None:
    app_url, cognito = cognito_page
    sent: dict[str, str] = {}
    page.on("request", lambda r: sent.__setitem__(r.url, r.headers.get("authorization", "")))
    page.goto(f"{app_url}/")
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#account")).to_be_hidden()

    page.get_by_role("button", name="Sign in").click()  # to the hosted UI and back with ?code=&state=
    expect(page.locator("#account-name")).to_have_text("Signed in as carol@example.com")
    assert page.url == f"{app_url}/"  # the code and state are gone from the address bar
    assert cognito.refused == []
    assert cognito.grants[:2] == ["authorization_code", "refresh_token"]

    expect(page.locator("#chatkit-notice")).to_be_visible()  # offline here, as in the other tests
    page.get_by_label("Message").fill("add book the flights")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript li.assistant").first).to_contain_text(
        "Added \u201cbook the flights\u201d"
    )
    # The API gets the access token (API Gateway's authorizer refuses ID tokens), asked for with its scope;
    # the ID token only names the user on the page.
    assert API_SCOPE in cognito.requested_scopes and "openid" in cognito.requested_scopes
    token = sent[f"{app_url}/chatkit"].removeprefix("Bearer ")
    assert jwt.decode(token, options={"verify_signature": False})["token_use"] == "access"

    page.get_by_role("button", name="Sign out").click()  # Cognito's /logout, then back to the page
    expect(page.locator("#sign-in")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0

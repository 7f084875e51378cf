"""The token matrix over HTTP: each bad credential is a 401 with WWW-Authenticate on every protected
route (ChatKit and tasks), before any work is done; valid ID and access tokens are accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from support.web import serve, user_message
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _alg_none(i: LocalIssuer, o: LocalIssuer) -> str:
    return f"{_b64({'alg': 'none', 'kid': i.kid})}.{_b64(i.claims('alice'))}."


def _hs256_public_key(i: LocalIssuer, o: LocalIssuer) -> str:
    pem = i.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': i.kid})}.{_b64(i.claims('alice'))}"
    return f"{signing_input}.{_b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def _tampered(i: LocalIssuer, o: LocalIssuer) -> str:
    header, _, signature = i.mint("alice").split(".")
    return f"{header}.{_b64(i.claims('mallory'))}.{signature}"


HEADERS: dict[str, Callable[[LocalIssuer, LocalIssuer], str | None]] = {
    "no token": lambda i, o: None,
    "not Bearer": lambda i, o: f"Basic {i.mint('alice')}",
    "Bearer without token": lambda i, o: "Bearer",
    "malformed": lambda i, o: "Bearer not.a.jwt",
    "alg none": lambda i, o: f"Bearer {_alg_none(i, o)}",
    "HS256 signed with the public key": lambda i, o: f"Bearer {_hs256_public_key(i, o)}",
    "expired": lambda i, o: f"Bearer {i.mint('alice', now=time.time() - 7200, ttl_seconds=3600)}",
    "not yet valid": lambda i, o: f"Bearer {i.mint('alice', extra_claims={'nbf': int(time.time()) + 900})}",
    "wrong issuer": lambda i, o: f"Bearer {i.mint('alice', extra_claims={'iss': 'https://evil.example'})}",
    "wrong audience": lambda i, o: f"Bearer {i.mint('alice', extra_claims={'aud': 'someone-else'})}",
    "wrong client_id": lambda i, o: (
        f"Bearer {i.mint('alice', use='access', extra_claims={'client_id': 'x'})}"
    ),
    "wrong token_use": lambda i, o: f"Bearer {i.mint('alice', extra_claims={'token_use': 'refresh'})}",
    "tampered payload": lambda i, o: f"Bearer {_tampered(i, o)}",
    "unknown kid": lambda i, o: (
        "Bearer "
        + jwt.encode(i.claims("alice"), i.private_key, algorithm="RS256", headers={"kid": "unknown"})
    ),
    # The bare form (what API Gateway's Cognito authorizer takes) is verified just as fully.
    "bare expired": lambda i, o: i.mint("alice", now=time.time() - 7200, ttl_seconds=3600),
    "bare alg none": _alg_none,
    "bare tampered payload": _tampered,
    "bare wrong audience": lambda i, o: i.mint("alice", extra_claims={"aud": "someone-else"}),
    "key from another JWKS": lambda i, o: (
        "Bearer " + jwt.encode(o.claims("alice"), o.private_key, algorithm="RS256", headers={"kid": i.kid})
    ),
}


@pytest.fixture(scope="module")
def other_issuer() -> LocalIssuer:
    return LocalIssuer.generate()


ROUTES = [
    ("POST", "/chatkit", {"type": "threads.create", "params": {"input": user_message("hi")}}),
    ("POST", "/chatkit", {"type": "threads.list", "params": {}}),
    ("GET", "/tasks", None),
    ("POST", "/tasks", {"title": "x"}),
    ("DELETE", "/tasks/01JAAAAAAAAAAAAAAAAAAAAAAA", None),
]


@pytest.mark.parametrize("case", list(HEADERS))
def test_bad_credentials_are_401(
    case: str, chat_url: str, issuer: LocalIssuer, other_issuer: LocalIssuer
) -> None:
    authorization = HEADERS[case](issuer, other_issuer)
    headers = {"Authorization": authorization} if authorization is not None else {}
    with httpx.Client(base_url=chat_url, timeout=10) as client:
        for method, path, body in ROUTES:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (case, path, response.text)
            challenge = response.headers["WWW-Authenticate"]
            assert challenge.startswith('Bearer realm="task-assistant"')
            if case == "no token":
                assert "error=" not in challenge
            else:
                assert 'error="invalid_token"' in challenge
            error = response.json()["error"]
            assert error["code"] == "unauthorized" and error["message"]
            assert "Traceback" not in response.text


def test_401_comes_before_body_validation(chat_url: str) -> None:
    response = httpx.post(f"{chat_url}/chatkit", content=b"{not json")
    assert response.status_code == 401


@pytest.mark.parametrize("form", ["Bearer {}", "{}"])
@pytest.mark.parametrize("use", ["id", "access"])
def test_valid_tokens_accepted(
    use: Literal["id", "access"], form: str, chat_url: str, issuer: LocalIssuer, user: str
) -> None:
    # "{}": a bare JWT, as clients of API Gateway's /chatkit route (which reaches this door) send it.
    headers = {"Authorization": form.format(issuer.mint(user, use=use))}
    with httpx.Client(base_url=chat_url, headers=headers, timeout=10) as client:
        assert client.get("/tasks").status_code == 200
        listed = client.post("/chatkit", json={"type": "threads.list", "params": {}})
        assert listed.status_code == 200 and listed.json()["data"] == []


def test_health_needs_no_token(chat_url: str) -> None:
    response = httpx.get(f"{chat_url}/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_jwks_fetch_does_not_block_the_event_loop(web_settings: Settings, issuer: LocalIssuer) -> None:
    document = json.dumps(issuer.jwks()).encode()
    release = threading.Event()

    class SlowJWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)  # held until the test has checked the app still answers
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            return

    jwks = ThreadingHTTPServer(("127.0.0.1", 0), SlowJWKS)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    settings = web_settings.model_copy(update={"jwks_url": f"http://127.0.0.1:{jwks.server_address[1]}/jwks"})
    try:
        with serve(create_app(settings, door="function_url")) as url:
            result: dict[str, int] = {}

            def authenticated() -> None:
                headers = {"Authorization": f"Bearer {issuer.mint('slow-jwks-user')}"}
                result["status"] = httpx.get(f"{url}/tasks", headers=headers, timeout=30).status_code

            waiting = threading.Thread(target=authenticated)
            waiting.start()
            time.sleep(0.2)  # let the first request reach the JWKS fetch
            start = time.monotonic()
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200
            assert time.monotonic() - start < 1.0  # served while the JWKS fetch is still pending
            assert waiting.is_alive()
            release.set()
            waiting.join(timeout=30)
            assert result["status"] == 200
    finally:
        release.set()
        jwks.shutdown()

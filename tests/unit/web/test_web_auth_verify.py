"""JWT verification: the full rejection matrix, both accepted token kinds, and the JWKS cache policy.

Tokens are minted by the local issuer (Cognito-shaped) and verified against its JWKS served over real
HTTP on loopback, exactly as the app verifies Cognito's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, JWKSServer, LocalIssuer
from task_assistant.web.auth import (
    AuthError,
    AuthUnavailableError,
    JWKSCache,
    TokenVerifier,
    authenticate,
    authorizer_claims,
    bearer_token,
)


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer.generate()


@pytest.fixture(scope="module")
def other_issuer() -> LocalIssuer:
    """Same issuer name and client id, different key: its tokens must not verify."""
    return LocalIssuer.generate()


@pytest.fixture(scope="module")
def jwks_server(issuer: LocalIssuer) -> Iterator[JWKSServer]:
    server = issuer.serve_jwks()
    yield server
    server.stop()


@pytest.fixture
def verifier(jwks_server: JWKSServer) -> TokenVerifier:
    return TokenVerifier(
        issuer=LOCAL_ISSUER, client_ids=[LOCAL_CLIENT_ID], jwks=JWKSCache(jwks_server.url), leeway_seconds=5
    )


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _public_pem(issuer: LocalIssuer) -> bytes:
    return issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def test_valid_id_token_accepted(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    claims = await verifier.verify(issuer.mint("alice", use="id"))
    assert claims["sub"] == "alice" and claims["token_use"] == "id" and claims["aud"] == LOCAL_CLIENT_ID


async def test_valid_access_token_accepted(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    claims = await verifier.verify(issuer.mint("alice", use="access"))
    assert claims["sub"] == "alice" and claims["token_use"] == "access" and "aud" not in claims


def _none_token(issuer: LocalIssuer) -> str:
    claims = issuer.claims("alice")
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': issuer.kid})}.{_b64(claims)}."


def _hs256_with_public_key(issuer: LocalIssuer) -> str:
    # The classic confusion attack: HMAC keyed with the RSA public key a naive verifier would use.
    claims = issuer.claims("alice")
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": issuer.kid})
    payload = _b64(claims)
    import hashlib
    import hmac

    sig = hmac.new(_public_pem(issuer), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


def _tampered(issuer: LocalIssuer) -> str:
    header, _payload, signature = issuer.mint("alice").split(".")
    claims = issuer.claims("mallory")  # a different subject, original signature
    return f"{header}.{_b64(claims)}.{signature}"


def _unknown_kid(issuer: LocalIssuer) -> str:
    claims = issuer.claims("alice")
    return jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": "no-such-key"})


def _other_key_same_kid(issuer: LocalIssuer, other: LocalIssuer) -> str:
    # Signed by a key from another JWKS while naming our kid: the signature check must fail.
    return jwt.encode(
        issuer.claims("alice"), other.private_key, algorithm="RS256", headers={"kid": issuer.kid}
    )


REJECTIONS = {
    "malformed": (lambda i, o: "not-a-jwt", "malformed token"),
    "three garbage parts": (lambda i, o: "a.b.c", "malformed token"),
    "alg none": (lambda i, o: _none_token(i), "algorithm"),
    "HS256 signed with the public key": (lambda i, o: _hs256_with_public_key(i), "algorithm"),
    "expired": (lambda i, o: i.mint("alice", now=time.time() - 7200, ttl_seconds=3600), "expired"),
    "not yet valid": (
        lambda i, o: i.mint("alice", extra_claims={"nbf": int(time.time()) + 600}),
        "not yet valid",
    ),
    "issued in the future": (lambda i, o: i.mint("alice", now=time.time() + 600), "not yet valid"),
    "wrong issuer": (lambda i, o: i.mint("alice", extra_claims={"iss": "https://evil.example"}), "issuer"),
    "wrong audience": (lambda i, o: i.mint("alice", extra_claims={"aud": "other-client"}), "audience"),
    "wrong client_id (access)": (
        lambda i, o: i.mint("alice", use="access", extra_claims={"client_id": "other-client"}),
        "client_id",
    ),
    "wrong token_use": (lambda i, o: i.mint("alice", extra_claims={"token_use": "refresh"}), "token_use"),
    "no token_use": (lambda i, o: i.mint("alice", extra_claims={"token_use": None}), "token_use"),
    "no exp": (lambda i, o: i.mint("alice", extra_claims={"exp": None}), "exp"),
    "tampered payload": (lambda i, o: _tampered(i), "signature"),
    "unknown kid": (lambda i, o: _unknown_kid(i), "unknown key"),
    "key from another JWKS": (lambda i, o: _other_key_same_kid(i, o), "signature"),
    "another issuer's own kid": (lambda i, o: o.mint("alice"), "unknown key"),
    "subject with #": (lambda i, o: i.mint("alice", extra_claims={"sub": "a#b"}), "subject"),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
async def test_rejected(
    case: str, issuer: LocalIssuer, other_issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    make, reason = REJECTIONS[case]
    token = make(issuer, other_issuer)
    if case in ("no token_use", "no exp"):
        # jwt.encode keeps None values as null; remove the claim entirely instead.
        claim = "token_use" if case == "no token_use" else "exp"
        claims = issuer.claims("alice")
        del claims[claim]
        token = jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": issuer.kid})
    with pytest.raises(AuthError) as info:
        await verifier.verify(token)
    assert reason in info.value.description
    assert 'error="invalid_token"' in info.value.www_authenticate


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer   abc.def.ghi ") == "abc.def.ghi"
    with pytest.raises(AuthError) as missing:
        bearer_token(None)
    assert missing.value.www_authenticate == 'Bearer realm="task-assistant"'
    with pytest.raises(AuthError, match="Bearer"):
        bearer_token("Basic dXNlcjpwYXNz")
    with pytest.raises(AuthError, match="Bearer"):
        bearer_token("abc.def.ghi")  # a bare token only where the caller allows it
    assert bearer_token("abc.def.ghi", allow_raw=True) == "abc.def.ghi"  # API Gateway style
    with pytest.raises(AuthError, match="Bearer"):
        bearer_token("abc def.ghi", allow_raw=True)


async def test_unknown_kid_refetches_at_most_once_a_minute(
    issuer: LocalIssuer, jwks_server: JWKSServer
) -> None:
    now = [1000.0]
    cache = JWKSCache(jwks_server.url, clock=lambda: now[0])
    verifier = TokenVerifier(issuer=LOCAL_ISSUER, client_ids=[LOCAL_CLIENT_ID], jwks=cache)
    await verifier.verify(issuer.mint("alice"))
    assert cache.fetch_count == 1
    await verifier.verify(issuer.mint("bob"))  # cached key: no fetch
    assert cache.fetch_count == 1
    with pytest.raises(AuthError):
        await verifier.verify(_unknown_kid(issuer))  # within a minute of the last fetch: no refetch
    assert cache.fetch_count == 1
    now[0] += 61
    for _ in range(5):
        with pytest.raises(AuthError):
            await verifier.verify(_unknown_kid(issuer))
    assert cache.fetch_count == 2  # one refresh for the first unknown kid, then throttled
    now[0] += 61
    with pytest.raises(AuthError):
        await verifier.verify(_unknown_kid(issuer))
    assert cache.fetch_count == 3


async def test_rotated_key_is_picked_up(jwks_server: JWKSServer) -> None:
    rotated = LocalIssuer.generate()
    server = rotated.serve_jwks()
    try:
        now = [0.0]
        cache = JWKSCache(server.url, clock=lambda: now[0])
        verifier = TokenVerifier(issuer=LOCAL_ISSUER, client_ids=[LOCAL_CLIENT_ID], jwks=cache)
        await verifier.verify(rotated.mint("alice"))
        # Publish a second key at the same URL, as Cognito does when it rotates.
        newer = LocalIssuer.generate()
        document = {"keys": rotated.jwks()["keys"] + newer.jwks()["keys"]}
        server.stop()
        server = JWKSServer(document, port=server.port).start()
        now[0] += 60
        assert (await verifier.verify(newer.mint("alice")))["sub"] == "alice"
    finally:
        server.stop()


async def test_unreachable_jwks_is_a_server_fault(issuer: LocalIssuer) -> None:
    verifier = TokenVerifier(
        issuer=LOCAL_ISSUER, client_ids=[LOCAL_CLIENT_ID], jwks=JWKSCache("http://127.0.0.1:9/jwks.json")
    )
    with pytest.raises(AuthUnavailableError):
        await verifier.verify(issuer.mint("alice"))


async def test_jwks_outage_at_start_is_a_503_and_recovers_on_the_first_request_after(
    issuer: LocalIssuer,
) -> None:
    """A failed first fetch must not poison auth: no 401 for a valid token, and no minute-long window."""
    port = free_port()
    now = [0.0]
    cache = JWKSCache(f"http://127.0.0.1:{port}/.well-known/jwks.json", clock=lambda: now[0])
    verifier = TokenVerifier(issuer=LOCAL_ISSUER, client_ids=[LOCAL_CLIENT_ID], jwks=cache)
    with pytest.raises(AuthUnavailableError) as down:
        await verifier.verify(issuer.mint("alice"))
    assert down.value.retry_after_seconds is not None and down.value.retry_after_seconds >= 1
    with pytest.raises(AuthUnavailableError):  # inside the backoff: answered without another fetch
        await verifier.verify(issuer.mint("alice"))
    assert cache.fetch_count == 1
    server = JWKSServer(issuer.jwks(), port=port).start()
    try:
        now[0] += cache.backoff_seconds  # the JWKS is back and the short backoff has passed
        assert (await verifier.verify(issuer.mint("alice")))["sub"] == "alice"
        assert cache.fetch_count == 2
    finally:
        server.stop()


async def test_hanging_jwks_is_fetched_once_and_leaves_the_thread_pool_free(issuer: LocalIssuer) -> None:
    """45 requests wait for a JWKS that accepts connections and never answers: they share one fetch, and
    meanwhile worker threads (which every boto3 call needs; anyio lends 40) stay available."""
    with socket.socket() as silent:  # listens, accepts into the backlog, never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(128)
        port = silent.getsockname()[1]
        cache = JWKSCache(f"http://127.0.0.1:{port}/jwks.json", timeout_seconds=2.0)
        verifier = TokenVerifier(issuer=LOCAL_ISSUER, client_ids=[LOCAL_CLIENT_ID], jwks=cache)
        token = issuer.mint("alice")
        waiting = [asyncio.create_task(verifier.verify(token)) for _ in range(45)]
        await asyncio.sleep(0)  # let every request reach the fetch
        await asyncio.gather(*(anyio.to_thread.run_sync(threading.get_ident) for _ in range(80)))
        assert not any(task.done() for task in waiting), "the thread pool waited for the JWKS"
        results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, AuthUnavailableError) for r in results)
    assert cache.fetch_count == 1


def test_authorizer_claims_rest_and_http_api() -> None:
    rest = {"requestContext": {"authorizer": {"claims": {"sub": "alice", "token_use": "id"}}}}
    http = {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "bob"}, "scopes": None}}}}
    assert authorizer_claims(rest) == {"sub": "alice", "token_use": "id"}
    assert authorizer_claims(http) == {"sub": "bob"}
    assert authorizer_claims({"requestContext": {}}) is None
    assert authorizer_claims(None) is None


def _authorizer_event(**claims: str) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"claims": claims}}}


async def test_api_gateway_door(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    event = _authorizer_event(sub="alice", token_use="id", aud=LOCAL_CLIENT_ID)
    claims = await authenticate(
        door="api_gateway", authorization=None, event=event, verifier=lambda: verifier
    )
    assert claims["sub"] == "alice"
    # A token, when present, is verified and must agree with the authorizer.
    good = await authenticate(
        door="api_gateway", authorization=issuer.mint("alice"), event=event, verifier=lambda: verifier
    )
    assert good["sub"] == "alice"
    with pytest.raises(AuthError, match="differs"):
        await authenticate(
            door="api_gateway",
            authorization=f"Bearer {issuer.mint('bob')}",
            event=event,
            verifier=lambda: verifier,
        )
    with pytest.raises(AuthError):
        await authenticate(
            door="api_gateway", authorization="Bearer junk", event=event, verifier=lambda: verifier
        )
    # No authorizer claims: not authenticated, whatever the headers say.
    with pytest.raises(AuthError, match="authorizer"):
        await authenticate(door="api_gateway", authorization=None, event={}, verifier=lambda: verifier)


async def test_function_url_door_ignores_event_claims(verifier: TokenVerifier) -> None:
    event = {"requestContext": {"authorizer": {"claims": {"sub": "alice"}}}}
    with pytest.raises(AuthError, match="missing"):
        await authenticate(door="function_url", authorization=None, event=event, verifier=lambda: verifier)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"token_use": "id", "aud": "another-app-client"}, "audience"),
        ({"token_use": "access", "client_id": "another-app-client"}, "client_id"),
        ({"token_use": "id"}, "audience"),
        ({"aud": LOCAL_CLIENT_ID}, "token_use"),
        ({"token_use": "refresh", "aud": LOCAL_CLIENT_ID}, "token_use"),
        ({"token_use": "id", "aud": "[another-app-client other]"}, "audience"),
    ],
)
async def test_api_gateway_door_checks_the_authorizers_client(
    claims: dict[str, str], reason: str, verifier: TokenVerifier
) -> None:
    # A Cognito authorizer accepts tokens of every app client of the pool: the client is checked here.
    event = _authorizer_event(sub="alice", **claims)
    with pytest.raises(AuthError, match=reason):
        await authenticate(door="api_gateway", authorization=None, event=event, verifier=lambda: verifier)


@pytest.mark.parametrize(
    "claims",
    [
        {"token_use": "access", "client_id": LOCAL_CLIENT_ID},
        {"token_use": "id", "aud": f"[other {LOCAL_CLIENT_ID}]"},  # HTTP API's rendering of a list
    ],
)
async def test_api_gateway_door_accepts_its_own_clients(
    claims: dict[str, str], verifier: TokenVerifier
) -> None:
    event = _authorizer_event(sub="alice", **claims)
    found = await authenticate(door="api_gateway", authorization=None, event=event, verifier=lambda: verifier)
    assert found["sub"] == "alice"


async def test_function_url_door_accepts_a_bare_token(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    claims = await authenticate(
        door="function_url", authorization=issuer.mint("alice"), event=None, verifier=lambda: verifier
    )
    assert claims["sub"] == "alice"
    forged = issuer.mint("alice", extra_claims={"aud": "someone-else"})
    with pytest.raises(AuthError, match="audience"):
        await authenticate(door="function_url", authorization=forged, event=None, verifier=lambda: verifier)

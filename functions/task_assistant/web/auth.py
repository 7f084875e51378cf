"""Who is calling: JWT verification (Cognito or the local issuer) and the API Gateway authorizer's claims.

Two doors, chosen by the entry point and never by the request:

- ``function_url`` (the app under uvicorn, behind the Lambda Web Adapter or run locally): the token in
  ``Authorization`` (``Bearer <jwt>`` or a bare ``<jwt>``, the form API Gateway's Cognito authorizer takes
  and forwards to the streaming function) is verified here.
- ``api_gateway`` (the same app wrapped by Mangum): identity comes from the authorizer's claims in the
  Lambda event (``request.scope["aws.event"]``), which must carry ``token_use`` and an accepted client id
  exactly as a verified token must (a Cognito authorizer accepts tokens of every app client of the pool);
  a JWT in ``Authorization``, when present, is still verified and must name the same subject.

Verification accepts exactly what Cognito issues: RS256 only; ``iss`` equal to ``JWT_ISSUER``;
``token_use`` ``id`` (then ``aud`` must be one of ``JWT_CLIENT_IDS``) or ``access`` (then ``client_id``
must be); ``exp`` and ``nbf``/``iat`` with ``JWT_LEEWAY_SECONDS``; the key chosen by ``kid`` from the JWKS
at ``JWKS_URL`` (configured separately from the issuer: moto and the local issuer serve JWKS elsewhere).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import math
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx
import jwt
from jwt import PyJWK

from task_assistant.settings import Settings

Door = Literal["function_url", "api_gateway"]

ALGORITHM = "RS256"
REALM = "task-assistant"


class AuthError(Exception):
    """The request does not prove who it is for; answered with 401 and ``WWW-Authenticate``.

    ``description`` names the problem (``"token expired"``) and goes to the client: it must never carry
    token contents or key material.
    """

    def __init__(self, description: str, *, token_present: bool = True) -> None:
        super().__init__(description)
        self.description = description
        self.token_present = token_present

    @property
    def www_authenticate(self) -> str:
        # RFC 6750 section 3: no error code when the request carried no credentials at all.
        if not self.token_present:
            return f'Bearer realm="{REALM}"'
        safe = self.description.replace('"', "'")
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{safe}"'


class AuthUnavailableError(Exception):
    """Tokens cannot be checked right now (JWKS unreachable, auth not configured): a server fault.

    ``retry_after_seconds`` (when known) becomes the 503's ``Retry-After``: a client should retry, not sign
    the user out.
    """

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@functools.cache
def jwks_tls_context() -> ssl.SSLContext:
    """httpx's TLS settings (certifi's CAs), built once per process for every JWKS fetch.

    Building them reads the CA bundle: 30-90 ms, which a fresh ``httpx.get`` would pay on every fetch,
    the first request after a cold start or a SnapStart restore included.
    """
    return httpx.create_ssl_context()


class JWKSCache:
    """Signing keys by ``kid`` from a JWKS URL, fetched lazily and cached for the process.

    - An unknown ``kid`` triggers a refetch at most once per ``min_refresh_seconds`` after the last
      *successful* fetch (rotation is picked up within a minute; made-up ``kid`` values cannot turn into a
      flood of fetches). A failed fetch never starts that window: the next request after the JWKS is back
      fetches again, once the failure backoff (``backoff_seconds`` doubling up to ``max_backoff_seconds``)
      has passed; until then a key that is not known answers :class:`AuthUnavailableError` (503 with
      ``Retry-After``), never a 401 that would sign a valid user out.
    - Single flight: concurrent requests share the one fetch in progress.
    - Fetches run on this cache's own thread, and waiting requests wait on the event loop
      (``asyncio.wrap_future``), not on worker threads: a hanging JWKS cannot starve the thread pool that
      every boto3 call needs. The bookkeeping lock is a thread lock held only for bookkeeping, never during
      I/O, because Mangum may drive the app from a fresh event loop per invocation.
    """

    def __init__(
        self,
        url: str,
        *,
        min_refresh_seconds: float = 60.0,
        timeout_seconds: float = 3.0,
        backoff_seconds: float = 0.25,
        max_backoff_seconds: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.min_refresh_seconds = min_refresh_seconds
        self.timeout_seconds = timeout_seconds
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._inflight: concurrent.futures.Future[None] | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="jwks")
        self.fetch_count = 0

    @property
    def known_kids(self) -> frozenset[str]:
        """The key ids cached right now (nothing is fetched)."""
        return frozenset(self._keys)

    def forget(self) -> None:
        """Drop the cached keys and the refresh and backoff windows: the next token fetches the JWKS.

        After a SnapStart restore the cached set may be days old: a key revoked since would still verify.
        """
        with self._lock:
            self._keys = {}
            self._fetched_at = None
            self._failures = 0
            self._retry_at = 0.0

    def refresh(self) -> bool:
        """Forget the keys and fetch the current set now, on the calling thread; False if that failed.

        After a SnapStart restore, before traffic (no request is waiting, so the single-flight executor is
        not needed). A failed fetch leaves no keys and the usual backoff: the next token fetches again.
        """
        self.forget()
        try:
            self._fetch_and_store()
        except AuthUnavailableError:
            return False
        return True

    async def get_key(self, kid: str) -> PyJWK:
        """The verification key for ``kid``.

        :class:`AuthError` if the (reachable) JWKS does not hold it; :class:`AuthUnavailableError` if it is
        not known and the JWKS cannot be reached right now.
        """
        key = self._keys.get(kid)
        if key is not None:
            return key
        fetch = self._fetch_if_due()
        if fetch is not None:
            # Shielded: a waiter that runs out of its deadline must not cancel the fetch others share.
            await asyncio.shield(asyncio.wrap_future(fetch))
        key = self._keys.get(kid)
        if key is None:
            raise AuthError("token signed with an unknown key")
        return key

    def _fetch_if_due(self) -> concurrent.futures.Future[None] | None:
        """The fetch to wait for (the one in flight, or a new one), or None when none is due."""
        with self._lock:
            if self._inflight is not None and not self._inflight.done():
                return self._inflight
            now = self._clock()
            if now < self._retry_at:
                raise AuthUnavailableError(
                    f"JWKS at {self.url} unreachable; next attempt in {self._retry_at - now:.1f} s",
                    retry_after_seconds=max(1, math.ceil(self._retry_at - now)),
                )
            if self._fetched_at is not None and now - self._fetched_at < self.min_refresh_seconds:
                return None
            self._inflight = self._executor.submit(self._fetch_and_store)
            return self._inflight

    def _fetch_and_store(self) -> None:
        self.fetch_count += 1
        try:
            response = httpx.get(
                self.url, timeout=self.timeout_seconds, follow_redirects=False, verify=jwks_tls_context()
            )
            response.raise_for_status()
            keys = parse_jwks(response.json())
        except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            with self._lock:
                self._failures += 1
                backoff = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (self._failures - 1))
                self._retry_at = self._clock() + backoff
            raise AuthUnavailableError(
                f"cannot fetch JWKS from {self.url}: {exc}", retry_after_seconds=max(1, math.ceil(backoff))
            ) from exc
        with self._lock:
            # The document is the truth: a key it no longer lists is revoked.
            self._keys = keys
            self._fetched_at = self._clock()
            self._failures = 0
            self._retry_at = 0.0


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """RS256 signing keys of a JWKS document by ``kid``; keys of other kinds or uses are ignored."""
    keys: dict[str, PyJWK] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return keys
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            keys[kid] = PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            continue
    return keys


class TokenVerifier:
    """Verifies Cognito-style JWTs (ID and access tokens) against the configured issuer and clients."""

    def __init__(self, *, issuer: str, client_ids: list[str], jwks: JWKSCache, leeway_seconds: int = 30):
        if not client_ids:
            raise ValueError("at least one accepted client id is required")
        self.issuer = issuer
        self.client_ids = frozenset(client_ids)
        self.jwks = jwks
        self.leeway_seconds = leeway_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """A verifier from ``JWT_ISSUER``, ``JWKS_URL``, ``JWT_CLIENT_IDS``; raises if any is unset."""
        missing = [
            name
            for name, value in (
                ("JWT_ISSUER", settings.jwt_issuer),
                ("JWKS_URL", settings.jwks_url),
                ("JWT_CLIENT_IDS", settings.jwt_client_ids),
            )
            if not value
        ]
        if missing:
            raise AuthUnavailableError(f"authentication is not configured: set {', '.join(missing)}")
        assert settings.jwt_issuer is not None and settings.jwks_url is not None
        return cls(
            issuer=settings.jwt_issuer,
            client_ids=settings.jwt_client_ids,
            jwks=JWKSCache(settings.jwks_url),
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if it is valid; otherwise :class:`AuthError` naming the problem."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        # Checked before any key is looked up: `none`, HS256 (signed with the public key as a secret)
        # and every other algorithm are refused outright, whatever the key would say.
        if header.get("alg") != ALGORITHM:
            raise AuthError(f"token algorithm must be {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token has no key id")
        key = await self.jwks.get_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token issuer not accepted") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        self.check_client(claims)
        subject_of(claims)
        return claims

    def check_client(self, claims: Mapping[str, Any]) -> None:
        """:class:`AuthError` unless ``claims`` are of an ID or access token issued to an accepted client.

        Applied to verified tokens and to an API Gateway authorizer's claims alike.
        """
        kind = claims.get("token_use")
        if kind == "id":
            aud = claims.get("aud")
            audiences = _audiences(aud)
            if not any(isinstance(a, str) and a in self.client_ids for a in audiences):
                raise AuthError("token audience not accepted")
        elif kind == "access":
            if claims.get("client_id") not in self.client_ids:
                raise AuthError("token client_id not accepted")
        else:
            raise AuthError("token_use must be 'id' or 'access'")


def _audiences(aud: Any) -> list[Any]:
    if isinstance(aud, list):
        return aud
    if not isinstance(aud, str):
        return []
    # An HTTP API JWT authorizer passes array claims on as one string, "[a b]".
    if aud.startswith("[") and aud.endswith("]"):
        return aud[1:-1].split()
    return [aud]


def subject_of(claims: Mapping[str, Any]) -> str:
    """The user id (``sub``) of verified claims; :class:`AuthError` if it cannot key user data."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or "#" in sub or len(sub) > 256:
        raise AuthError("token subject not usable")
    return sub


def bearer_token(authorization: str | None, *, allow_raw: bool = False) -> str:
    """The token of an ``Authorization: Bearer <token>`` header.

    ``allow_raw`` also accepts a bare JWT: API Gateway's Cognito authorizer takes the raw token in the
    header, so clients of the API door often send it that way.
    """
    if authorization is None or not authorization.strip():
        raise AuthError("missing bearer token", token_present=False)
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    if allow_raw and not rest and authorization.count(".") == 2:
        return authorization.strip()
    raise AuthError("authorization must use the Bearer scheme")


def authorizer_claims(event: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Claims an API Gateway authorizer placed in a Lambda proxy event, if any.

    REST APIs with a Cognito user pool authorizer put them at ``requestContext.authorizer.claims``;
    HTTP APIs with a JWT authorizer at ``requestContext.authorizer.jwt.claims``.
    """
    if not isinstance(event, Mapping):
        return None
    request_context = event.get("requestContext")
    if not isinstance(request_context, Mapping):
        return None
    authorizer = request_context.get("authorizer")
    if not isinstance(authorizer, Mapping):
        return None
    claims = authorizer.get("claims")
    if not isinstance(claims, Mapping):
        jwt_part = authorizer.get("jwt")
        claims = jwt_part.get("claims") if isinstance(jwt_part, Mapping) else None
    if not isinstance(claims, Mapping):
        return None
    return dict(claims)


async def authenticate(
    *,
    door: Door,
    authorization: str | None,
    event: Mapping[str, Any] | None,
    verifier: Callable[[], TokenVerifier],
) -> dict[str, Any]:
    """Verified claims of the caller through ``door``; :class:`AuthError` if there are none.

    ``verifier`` is built from ``JWT_ISSUER``, ``JWKS_URL`` and ``JWT_CLIENT_IDS`` (cheaply: the JWKS is
    fetched on the first token); both doors need them, the API door to check the authorizer's client id.
    """
    if door == "function_url":
        return await verifier().verify(bearer_token(authorization, allow_raw=True))
    claims = authorizer_claims(event)
    if claims is None:
        raise AuthError("request did not pass the API authorizer", token_present=authorization is not None)
    subject = subject_of(claims)
    verifier().check_client(claims)
    if authorization:
        verified = await verifier().verify(bearer_token(authorization, allow_raw=True))
        if subject_of(verified) != subject:
            raise AuthError("token subject differs from the authorizer's")
        return verified
    return claims

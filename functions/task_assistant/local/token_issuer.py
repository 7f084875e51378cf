"""A local stand-in for Cognito: its own RSA key, Cognito-shaped tokens, and a JWKS on loopback.

The app trusts this issuer through exactly the settings it uses for Cognito (``JWT_ISSUER``,
``JWKS_URL``, ``JWT_CLIENT_IDS``): nothing in the app knows it is local. The private key lives in the
local data directory (``<data dir>/issuer/private-key.pem``, mode 0600), so ``task-assistant-token
<user>`` mints tokens the running ``make dev`` server accepts, and tokens survive a restart.

Tokens look like Cognito's: ID tokens carry ``aud`` = the client id and ``token_use=id``; access
tokens carry ``client_id`` and ``token_use=access``. ``sub`` is the user name given.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_ISSUER = "http://localhost/task-assistant-local-issuer"
"""The ``iss`` of local tokens. Deliberately not a served URL: the JWKS address is configured apart."""

LOCAL_CLIENT_ID = "task-assistant-local"
JWKS_PATH = "/.well-known/jwks.json"
KEY_FILE = Path("issuer") / "private-key.pem"
DEFAULT_TTL_SECONDS = 12 * 3600

_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")

TokenUse = Literal["id", "access"]


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check_user_name(user: str) -> str:
    """``user`` if it can be a local user id (letters, digits, ``._@+-``; up to 64), else ValueError."""
    if not _USER_RE.match(user):
        raise ValueError(
            f"invalid user name {user!r}: use 1-64 letters, digits or ._@+- (starting with a letter or digit)"
        )
    return user


class LocalIssuer:
    """Mints RS256 tokens with one RSA key and publishes the matching JWKS."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        *,
        issuer: str = LOCAL_ISSUER,
        client_id: str = LOCAL_CLIENT_ID,
    ) -> None:
        self.private_key = private_key
        self.issuer = issuer
        self.client_id = client_id
        numbers = private_key.public_key().public_numbers()
        self._public_jwk = {"kty": "RSA", "e": _b64url_uint(numbers.e), "n": _b64url_uint(numbers.n)}
        # RFC 7638 thumbprint: a kid that changes exactly when the key does.
        canonical = json.dumps(self._public_jwk, separators=(",", ":"), sort_keys=True).encode()
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()

    @classmethod
    def generate(cls, **kwargs: Any) -> LocalIssuer:
        """An issuer with a fresh in-memory key."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), **kwargs)

    @classmethod
    def load_or_create(cls, data_dir: str | os.PathLike[str], **kwargs: Any) -> LocalIssuer:
        """The issuer whose key is stored under ``data_dir`` (created on first use, readable by you only)."""
        path = Path(data_dir) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                # O_EXCL: if `make dev` and `task-assistant-token` race on a fresh directory, one key wins.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        return cls(loaded, **kwargs)

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document (what Cognito serves at ``<issuer>/.well-known/jwks.json``)."""
        return {"keys": [{**self._public_jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def claims(
        self,
        user: str,
        *,
        use: TokenUse = "id",
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        now: float | None = None,
    ) -> dict[str, Any]:
        """The claims of a Cognito-shaped token for ``user``."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": check_user_name(user),
            "iss": self.issuer,
            "token_use": use,
            "iat": issued,
            "auth_time": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        if use == "id":
            claims["aud"] = self.client_id
            claims["cognito:username"] = user
        else:
            claims["client_id"] = self.client_id
            claims["username"] = user
            claims["scope"] = "openid"
        return claims

    def mint(
        self,
        user: str,
        *,
        use: TokenUse = "id",
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        now: float | None = None,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """A signed token for ``user``; ``use`` is the ``token_use`` (``extra_claims`` override claims)."""
        claims = self.claims(user, use=use, ttl_seconds=ttl_seconds, now=now)
        claims.update(extra_claims or {})
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def serve_jwks(self, host: str = "127.0.0.1", port: int = 0) -> JWKSServer:
        """Serve :meth:`jwks` on ``http://host:port/.well-known/jwks.json`` from a daemon thread."""
        return JWKSServer(self.jwks(), host=host, port=port).start()


class JWKSServer:
    """A tiny loopback HTTP server that publishes one JWKS document (and nothing else)."""

    def __init__(self, document: dict[str, Any], *, host: str = "127.0.0.1", port: int = 0) -> None:
        payload = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != JWKS_PATH:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per fetch is noise
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="jwks-server", daemon=True)
        self.host = host
        self.port = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{JWKS_PATH}"

    def start(self) -> JWKSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def default_data_dir() -> Path:
    """``LOCAL_DATA_DIR`` from the settings (default ``.local-data`` in the current directory)."""
    from task_assistant.settings import get_settings

    return Path(get_settings().local_data_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """``task-assistant-token <user>``: print a token the local stack (``make dev``) accepts."""
    parser = argparse.ArgumentParser(
        prog="task-assistant-token",
        description="Print a token from the local issuer for USER (the key is shared with `make dev`).",
    )
    parser.add_argument("user", nargs="?", default="dev", help="user name, the token's sub (default: dev)")
    parser.add_argument("--data-dir", help="local data directory (default: LOCAL_DATA_DIR or .local-data)")
    parser.add_argument("--access", action="store_true", help="mint an access token instead of an ID token")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="lifetime in seconds")
    args = parser.parse_args(argv)
    try:
        check_user_name(args.user)
    except ValueError as exc:
        parser.error(str(exc))
    if args.ttl < 1:
        parser.error("--ttl must be positive")
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    issuer = LocalIssuer.load_or_create(data_dir)
    use: TokenUse = "access" if args.access else "id"
    sys.stdout.write(issuer.mint(args.user, use=use, ttl_seconds=args.ttl) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

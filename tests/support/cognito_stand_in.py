"""A stand-in for Cognito's managed login (hosted UI) endpoints, which moto does not serve: the OAuth 2.0
authorization-code flow with PKCE over real HTTP, as the page's browser code speaks it.

``/oauth2/authorize`` signs the configured user in at once and redirects back with a code;
``/oauth2/token`` checks the client, the redirect URI and the PKCE verifier (S256) before it answers with
tokens from the local issuer (which the app trusts as it trusts Cognito); ``/logout`` redirects to the
sign-out URI. Every grant is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from task_assistant.local.token_issuer import LocalIssuer


class CognitoStandIn:
    def __init__(
        self, issuer: LocalIssuer, *, client_id: str, user: str, email: str, expires_in: int
    ) -> None:
        self.issuer, self.client_id, self.user, self.email = issuer, client_id, user, email
        self.expires_in = expires_in
        self.redirect_uri = ""  # set once the page's URL is known
        self.grants: list[str] = []
        self.refused: list[str] = []
        self.requested_scopes: list[str] = []  # of the last authorization request
        self._codes: dict[str, str] = {}  # code -> PKCE challenge
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/oauth2/authorize":
                    self._redirect(stand_in.authorize(query))
                elif url.path == "/logout" and query.get("logout_uri") == stand_in.redirect_uri:
                    self._redirect(stand_in.redirect_uri)
                else:
                    self._json(400, {"error": "invalid_request"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                status, answer = stand_in.token(form) if self.path == "/oauth2/token" else (404, {})
                self._json(status, answer)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.end_headers()

            def _json(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                # Cognito's token endpoint answers browsers of any origin (public clients, no cookies).
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="cognito", daemon=True)

    def authorize(self, query: dict[str, str]) -> str:
        self.requested_scopes = query.get("scope", "").split()
        expected = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri}
        wrong = [k for k, v in expected.items() if query.get(k) != v]
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            wrong.append("code_challenge")
        if "openid" not in query.get("scope", "").split() or not query.get("state"):
            wrong.append("scope/state")
        if wrong:
            self.refused.append(f"authorize: {wrong}")
            refusal = {"error": "invalid_request", "state": query.get("state", "")}
            return f"{self.redirect_uri}?{urlencode(refusal)}"
        code = secrets.token_urlsafe(16)
        self._codes[code] = query["code_challenge"]
        return f"{self.redirect_uri}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if form.get("client_id") != self.client_id:
            self.refused.append(f"{grant}: client_id")
            return 400, {"error": "invalid_client"}
        if grant == "authorization_code":
            challenge = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "").encode()
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if challenge is None or computed != challenge or form.get("redirect_uri") != self.redirect_uri:
                self.refused.append("authorization_code: code, verifier or redirect_uri")
                return 400, {"error": "invalid_grant"}
        elif grant != "refresh_token" or not form.get("refresh_token"):
            self.refused.append(f"{grant}: unsupported")
            return 400, {"error": "unsupported_grant_type"}
        self.grants.append(grant)
        tokens: dict[str, Any] = {
            "id_token": self.issuer.mint(self.user, extra_claims={"email": self.email}),
            "access_token": self.issuer.mint(self.user, use="access"),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if grant == "authorization_code":
            tokens["refresh_token"] = secrets.token_urlsafe(24)
        return 200, tokens

    def __enter__(self) -> CognitoStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

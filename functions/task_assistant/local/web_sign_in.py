"""Local mode only: ``GET /local/token?user=<name>`` hands the page a token from the local issuer.

Mounted by ``make dev`` (:func:`install_local_sign_in`) on the app it serves; a deployed app never has
this route (the entry points in :mod:`task_assistant.entry` do not call this). It answers only requests
addressed to a loopback host name, so a web page on another site cannot reach it through DNS rebinding,
and ``make dev --host 0.0.0.0`` does not hand tokens to the whole network.
"""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from task_assistant.local.token_issuer import DEFAULT_TTL_SECONDS, LocalIssuer, check_user_name
from task_assistant.web.errors import ApiError, BadRequest
from task_assistant.web.page import LocalSignIn

LOCAL_TOKEN_PATH = "/local/token"  # noqa: S105 - a route, not a secret


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_local_sign_in(
    app: FastAPI, issuer: LocalIssuer, *, default_user: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
) -> LocalSignIn:
    """Add the token route to ``app`` and tell the page to sign in through it."""
    check_user_name(default_user)
    router = APIRouter(include_in_schema=False)

    @router.get(LOCAL_TOKEN_PATH)
    async def local_token(request: Request, user: str = default_user) -> JSONResponse:
        if not _is_loopback(request.url.hostname):
            raise ApiError(
                403, "local tokens are handed out on loopback only: open the page at http://127.0.0.1:<port>/"
            )
        try:
            check_user_name(user)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        token = issuer.mint(user, ttl_seconds=ttl_seconds)
        body = {"token": token, "token_type": "Bearer", "user": user, "expires_in": ttl_seconds}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    app.include_router(router)
    sign_in = LocalSignIn(token_path=LOCAL_TOKEN_PATH, default_user=default_user)
    app.state.local_sign_in = sign_in
    return sign_in

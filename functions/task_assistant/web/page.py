"""The page to try the assistant in a browser: ``GET /`` (no auth), its script, style and configuration.

The page is static (``static/``: HTML, JS and CSS, no build step). It loads the ChatKit web component
from OpenAI's CDN and points it at this server's ``/chatkit`` with a ``fetch`` wrapper that adds the
bearer token; when the CDN script cannot load it says so and offers a basic built-in chat over the same
wrapper. What differs per deployment comes from ``web/config.json``, built here from the settings:

- local mode (``make dev``): the local issuer's token route (:class:`LocalSignIn`, mounted by
  :mod:`task_assistant.local.web_sign_in`, never in a deployed app);
- deployed: Cognito managed login, authorization code + PKCE in the browser (``PAGE_AUTH_DOMAIN``,
  ``PAGE_CLIENT_ID``, ``PAGE_URL`` as the redirect URI);
- the widget's options that depend on the model (:func:`widget_options`): the model picker and dictation
  with a model key, thumbs up/down always.

All page URLs are relative (``web/page.js``), so the same files work at ``/`` and under an API Gateway
stage (``/dev/``), and can be hosted on any origin with a config document pointing at this server.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from task_assistant.agent.models import choose_model, dictation_available
from task_assistant.settings import Settings
from task_assistant.web.deps import SettingsDep
from task_assistant.web.page_paths import ASSETS, CONFIG_PATH, PAGE_PATH
from task_assistant.web.scopes import PAGE_SCOPES

STATIC_DIR = Path(__file__).with_name("static")
CHATKIT_SCRIPT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
CHATKIT_ORIGIN = "https://cdn.platform.openai.com"
#: What the page asks Cognito for: its ID token names the user, its access token goes to the API.
COGNITO_SCOPES = PAGE_SCOPES

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class LocalSignIn:
    """The page signs in with the local issuer: ``GET <token_path>?user=<name>`` answers a token."""

    token_path: str
    default_user: str


@cache
def _static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def page_base_url(settings: Settings, request: Request) -> str:
    """The page's public URL, ending in ``/``: ``PAGE_URL``, else where this request arrived."""
    return settings.page_url or str(request.base_url)


def widget_options(settings: Settings) -> dict[str, Any]:
    """ChatKit options the page passes to the widget as they are.

    Feedback buttons always (``items.feedback`` is stored). With a model key, dictation (unless
    ``OPENAI_TRANSCRIBE_MODEL`` is empty), and the model picker when ``OPENAI_MODELS`` offers a choice
    (``OPENAI_MODEL`` preselected). The offline model neither transcribes nor has models to choose from,
    so its page shows neither.
    """
    options: dict[str, Any] = {"threadItemActions": {"feedback": True}}
    if choose_model(settings).kind == "offline":
        return options
    composer: dict[str, Any] = {"dictation": {"enabled": True}} if dictation_available(settings) else {}
    offered = settings.offered_models
    if len(offered) > 1:
        composer["models"] = [
            {"id": name, "label": name, **({"default": True} if name == settings.openai_model else {})}
            for name in offered
        ]
    return {**options, "composer": composer} if composer else options


def page_config(settings: Settings, base_url: str, local: LocalSignIn | None) -> dict[str, Any]:
    """What the page needs to know: where ChatKit is, and how to get a token."""
    sign_in: dict[str, Any]
    if local is not None:
        sign_in = {
            "kind": "local",
            "tokenUrl": urljoin(base_url, local.token_path.lstrip("/")),
            "user": local.default_user,
        }
    elif settings.page_auth_domain:
        client_id = settings.page_client_id or next(iter(settings.jwt_client_ids), None)
        sign_in = {
            "kind": "cognito",
            "domain": settings.page_auth_domain,
            "clientId": client_id,
            "redirectUri": base_url,
            "scopes": list(COGNITO_SCOPES),
        }
    else:
        sign_in = {"kind": "none"}
    return {
        "chatkit": {
            "url": urljoin(base_url, "chatkit"),
            "domainKey": settings.chatkit_domain_key,
            "scriptUrl": CHATKIT_SCRIPT_URL,
            "options": widget_options(settings),
        },
        "signIn": sign_in,
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _storage_origins(settings: Settings) -> list[str]:
    """Where the browser PUTs attachments (presigned S3 URLs): the configured endpoint, else AWS S3."""
    if settings.s3_endpoint_url:
        return [_origin(settings.s3_endpoint_url)]
    bucket, region = settings.attachments_bucket, settings.aws_region
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def content_security_policy(settings: Settings, config: dict[str, Any]) -> str:
    """The page's CSP: its own files, the ChatKit CDN, and connections only to the hosts it talks to.

    ``'unsafe-inline'`` is allowed for styles only: the web component styles itself at run time. No
    inline script is allowed at all (the page has none).
    """
    connect = ["'self'", _origin(config["chatkit"]["url"]), CHATKIT_ORIGIN, *_storage_origins(settings)]
    sign_in = config["signIn"]
    if sign_in["kind"] == "local":
        connect.append(_origin(sign_in["tokenUrl"]))
    elif sign_in["kind"] == "cognito":
        connect.append(_origin(sign_in["domain"]))
    directives = {
        "default-src": ["'none'"],
        "script-src": ["'self'", CHATKIT_ORIGIN],
        "style-src": ["'self'", "'unsafe-inline'", CHATKIT_ORIGIN],
        "font-src": ["'self'", "data:", CHATKIT_ORIGIN],
        "img-src": ["'self'", "data:", "blob:", CHATKIT_ORIGIN],
        "connect-src": list(dict.fromkeys(connect)),
        "frame-src": [CHATKIT_ORIGIN],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def _local_sign_in(request: Request) -> LocalSignIn | None:
    local = getattr(request.app.state, "local_sign_in", None)
    return local if isinstance(local, LocalSignIn) else None


_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the URL carries the sign-in code on the way back from Cognito
}


@router.get(PAGE_PATH)
async def page(request: Request, settings: SettingsDep) -> Response:
    config = page_config(settings, page_base_url(settings, request), _local_sign_in(request))
    headers = {**_PAGE_HEADERS, "Content-Security-Policy": content_security_policy(settings, config)}
    return Response(_static("index.html"), media_type="text/html; charset=utf-8", headers=headers)


@router.get(CONFIG_PATH)
async def config_document(request: Request, settings: SettingsDep) -> JSONResponse:
    config = page_config(settings, page_base_url(settings, request), _local_sign_in(request))
    return JSONResponse(config, headers={"Cache-Control": "no-store"})


def _asset_route(name: str, media_type: str) -> None:
    async def asset() -> Response:
        return Response(_static(name), media_type=media_type, headers=_PAGE_HEADERS)

    router.add_api_route(f"/web/{name}", asset, methods=["GET"], name=f"page asset {name}")


for _name, _media_type in ASSETS.items():
    _asset_route(_name, _media_type)

"""The streaming app's SnapStart hooks, served to the Lambda Web Adapter and to nobody else.

The adapter (v1.1.0+) POSTs an empty body to ``AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH`` before the
snapshot and to ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`` after each restore; a non-2xx answer fails that
phase. The adapter itself answers 403 when an invocation (function URL, API Gateway) asks for either path,
matching spellings canonically. The app does not rely on that alone:

- the routes exist only when the settings name the paths (the stack sets them with SnapStart on);
  locally, or behind an adapter without SnapStart, they are ordinary 404s;
- a hook runs only for a caller on the loopback interface (uvicorn listens on 127.0.0.1 behind the
  adapter) whose request carries neither ``x-amzn-request-context`` nor ``x-amzn-lambda-context``: the
  adapter adds both to every request it forwards from an invocation, replacing any a client sent
  (aws-lambda-web-adapter ``src/lib.rs``, ``fetch_response``), and its own hook calls carry neither.
  Anything else gets 403.
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from task_assistant.log import logger
from task_assistant.settings import Settings
from task_assistant.storage.clients import run_sync
from task_assistant.web.errors import ApiError
from task_assistant.web.services import Services
from task_assistant.web.snapstart import HookReport, prepare_snapshot, renew_after_restore

#: Headers the adapter puts on every request it forwards from an invocation (never on its hook calls).
FORWARDED_INVOCATION_HEADERS = ("x-amzn-request-context", "x-amzn-lambda-context")


def is_adapter_hook_call(request: Request) -> bool:
    """A loopback caller with no invocation context: the adapter's own hook call, not a forwarded request."""
    client = request.client
    if client is None:
        return False
    try:
        loopback = ipaddress.ip_address(client.host).is_loopback
    except ValueError:  # not an IP address (a unix socket, a test transport's name)
        return False
    return loopback and not any(name in request.headers for name in FORWARDED_INVOCATION_HEADERS)


def _answer(hook: str, report: HookReport) -> JSONResponse:
    body = {"hook": hook, "steps_ms": report.steps_ms, "counts": report.counts}
    logger.info(f"SnapStart {hook} hook done", extra=body)
    return JSONResponse(body)


def install_snapstart_hooks(app: FastAPI, settings: Settings) -> list[str]:
    """Add the hook routes the settings name; return their paths (none without SnapStart)."""
    services: Services = app.state.services

    async def before_checkpoint(request: Request) -> JSONResponse:
        if not is_adapter_hook_call(request):
            raise ApiError(403, "this path is for the Lambda Web Adapter only", code="forbidden")
        return _answer("before_checkpoint", await prepare_snapshot(services, chat=True))

    async def after_restore(request: Request) -> JSONResponse:
        if not is_adapter_hook_call(request):
            raise ApiError(403, "this path is for the Lambda Web Adapter only", code="forbidden")
        return _answer("after_restore", await run_sync(renew_after_restore, services))

    routes = {
        settings.aws_lwa_snapstart_before_checkpoint_path: before_checkpoint,
        settings.aws_lwa_snapstart_after_restore_path: after_restore,
    }
    installed = []
    for path, endpoint in routes.items():
        if path:
            app.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
            installed.append(path)
    return installed

"""Request dependencies shared by the routes: the verified caller (auth + rate limit) and the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from task_assistant.context import RequestContext
from task_assistant.log import logger
from task_assistant.settings import Settings
from task_assistant.web.admission import Admission
from task_assistant.web.auth import Door, authenticate, subject_of
from task_assistant.web.errors import request_id_of
from task_assistant.web.services import Services

# Declares the bearer scheme in the OpenAPI document; the header itself is read and checked by
# `authenticate` (auto_error=False so a missing token gets our 401 with WWW-Authenticate, not FastAPI's 403).
_bearer_scheme = HTTPBearer(auto_error=False, description="Cognito (or local issuer) ID or access token.")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_admission(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)] = None,
) -> Admission:
    """The verified caller (401 otherwise), its per-user rate-limit count started but not awaited."""
    services = get_services(request)
    door: Door = request.app.state.door
    claims = await authenticate(
        door=door,
        authorization=request.headers.get("authorization"),
        event=request.scope.get("aws.event"),
        verifier=services.verifier,
    )
    context = RequestContext(
        user_id=subject_of(claims), request_id=request_id_of(request.scope), claims=claims
    )
    logger.thread_safe_append_keys(user_id=context.user_id)
    return Admission.start(context, services.rate_limits)


async def get_caller(admission: Annotated[Admission, Depends(get_admission)]) -> RequestContext:
    """The verified caller, after the per-user rate limit; 401 or 429 otherwise."""
    return await admission.admitted()


Caller = Annotated[RequestContext, Depends(get_caller)]
AdmissionDep = Annotated[Admission, Depends(get_admission)]
"""For routes that read while the rate limit is counted (see :mod:`task_assistant.web.admission`)."""
ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

"""The error contract: every error is JSON ``{"error": {"code", "message", "request_id"}}``.

=====  =====================  =================================================================
HTTP   ``code``               when
=====  =====================  =================================================================
400    ``invalid_json``       the body is not JSON
400    ``invalid_request``    unknown request type, schema violation, bad parameter (``details``
                              lists each problem as ``{"loc", "msg"}``)
401    ``unauthorized``       missing or invalid token (with ``WWW-Authenticate``)
404    ``not_found``          thread, item, attachment or task that is missing or not the caller's
405    ``method_not_allowed`` wrong HTTP method for the route
409    ``conflict``           stale ``version``/``If-Match``, or a state that forbids the request
413    ``payload_too_large``  body over ``MAX_BODY_BYTES``
429    ``rate_limited``       over ``RATE_LIMIT_PER_MINUTE`` (with ``Retry-After``)
500    ``internal_error``     our fault; logged with the request id, no details to the client
503    ``unavailable``        a dependency is throttling, unreachable or too slow (DynamoDB, S3,
                              the JWKS endpoint), or the request ran out of its deadline
                              (``REQUEST_DEADLINE_SECONDS``); always with ``Retry-After``
=====  =====================  =================================================================

429 is kept for the caller's own rate: a throttled AWS service is our capacity problem, not the caller's,
so it answers 503 (the client retries after ``Retry-After`` either way).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from task_assistant.log import logger
from task_assistant.storage.failures import DependencyError, dependency_failure
from task_assistant.web.auth import AuthError, AuthUnavailableError

GENERIC_SERVER_MESSAGE = "The server could not handle this request. Quote the request id when reporting it."

_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with a status, a stable ``code`` and a message fit for the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _STATUS_CODES.get(status, "error")
        self.headers = dict(headers or {})
        self.details = list(details) if details else None


class BadRequest(ApiError):
    def __init__(self, message: str, *, code: str = "invalid_request", details: Any = None) -> None:
        super().__init__(400, message, code=code, details=details)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Conflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class PayloadTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class RateLimited(ApiError):
    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(
            429,
            f"rate limit of {limit} requests per minute exceeded; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(ApiError):
    """503 with ``Retry-After``: a dependency is busy or unreachable, or the request's deadline passed."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(503, message, headers={"Retry-After": str(retry_after)})


DEPENDENCY_MESSAGES = {
    "throttled": "the service is busy right now (storage is throttling requests); retry after {retry} s",
    "unavailable": "the service could not reach its storage in time; retry after {retry} s",
}


def request_id_of(scope: Mapping[str, Any]) -> str:
    state = scope.get("state")
    if isinstance(state, Mapping):
        value = state.get("request_id")
        if isinstance(value, str):
            return value
    return ""


def error_body(
    status: int, message: str, *, code: str | None = None, request_id: str = "", **extra: Any
) -> dict[str, Any]:
    """The JSON document of one error (also used by the ASGI middleware, which has no Request)."""
    error: dict[str, Any] = {"code": code or _STATUS_CODES.get(status, "error"), "message": message}
    error.update({k: v for k, v in extra.items() if v is not None})
    if request_id:
        error["request_id"] = request_id
    return {"error": error}


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: Any = None,
) -> JSONResponse:
    body = error_body(status, message, code=code, request_id=request_id_of(request.scope), details=details)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def validation_details(errors: Iterable[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{"loc", "msg"}``, without echoing the (possibly large or secret) input."""
    details = []
    for err in errors:
        if not isinstance(err, Mapping):
            continue
        loc = [part for part in err.get("loc", ()) if part not in ("body",)]
        details.append({"loc": loc, "msg": str(err.get("msg", "invalid"))})
        if len(details) >= 20:
            break
    return details


def summarise(details: Sequence[Mapping[str, Any]]) -> str:
    if not details:
        return "request does not match the schema"
    first = details[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def install_error_handlers(app: FastAPI) -> None:
    """Map every expected exception to the JSON error contract (unexpected ones: see middleware)."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(
            request, exc.status, exc.message, code=exc.code, headers=exc.headers, details=exc.details
        )

    async def auth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return error_response(
            request, 401, exc.description, headers={"WWW-Authenticate": exc.www_authenticate}
        )

    async def auth_unavailable(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthUnavailableError)
        logger.error("authentication unavailable", extra={"reason": str(exc)})
        retry = exc.retry_after_seconds
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return error_response(request, 503, "authentication is temporarily unavailable", headers=headers)

    async def request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors if isinstance(err, Mapping)):
            return error_response(request, 400, "request body is not valid JSON", code="invalid_json")
        details = validation_details(errors)
        return error_response(request, 400, summarise(details), details=details)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return error_response(request, exc.status_code, message, headers=exc.headers)

    async def aws_error(request: Request, exc: Exception) -> JSONResponse:
        failure = dependency_failure(exc)
        if failure is None:  # a bug of ours (a malformed call, missing permission): the usual 500
            logger.error(
                "unhandled AWS error",
                exc_info=exc,
                extra={"path": request.url.path, "method": request.method},
            )
            return error_response(request, 500, GENERIC_SERVER_MESSAGE)
        retry = failure.retry_after_seconds
        logger.warning(
            "dependency failure answered 503",
            extra={"kind": failure.kind, "error_type": failure.error_type, "path": request.url.path},
        )
        message = DEPENDENCY_MESSAGES[failure.kind].format(retry=retry)
        return error_response(request, 503, message, headers={"Retry-After": str(retry)})

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(ClientError, aws_error)
    app.add_exception_handler(BotoCoreError, aws_error)
    app.add_exception_handler(DependencyError, aws_error)
    app.add_exception_handler(AuthError, auth_error)
    app.add_exception_handler(AuthUnavailableError, auth_unavailable)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)

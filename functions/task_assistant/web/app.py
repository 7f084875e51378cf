"""The one FastAPI application behind both doors (function URL under uvicorn; API Gateway via Mangum).

Routes: ``POST /chatkit`` (the ChatKit protocol), ``GET /health`` (no auth, no AWS calls), ``/tasks``
(REST, see :mod:`task_assistant.web.tasks_api`), and the page to try it in a browser: ``GET /`` with
``/web/page.js``, ``/web/page.css`` and ``/web/config.json`` (no auth, see :mod:`task_assistant.web.page`).
The door is fixed by the entry point that builds the app (:mod:`task_assistant.entry.streaming` or
:mod:`task_assistant.entry.api`), never by the request.

Importing this module and serving ``/health`` does not import the agent stack: the ChatKit server and
the AWS clients are built by :class:`~task_assistant.web.services.Services` on first use.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from task_assistant.log import logger
from task_assistant.settings import Settings
from task_assistant.web import cors, page, tasks_api
from task_assistant.web.chatkit_gate import check_ownership, parse_request
from task_assistant.web.deadline import DeadlineMiddleware, stream_deadline
from task_assistant.web.deps import Caller, ServicesDep, SettingsDep
from task_assistant.web.errors import (
    BadRequest,
    NotFound,
    install_error_handlers,
    summarise,
    validation_details,
)
from task_assistant.web.middleware import RequestGuardMiddleware
from task_assistant.web.services import Services
from task_assistant.web.sse import EventStreamResponse

API_VERSION = "1.0.0"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

health_router = APIRouter(tags=["health"])
chatkit_router = APIRouter(tags=["chatkit"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    environment: str
    version: str = API_VERSION


@health_router.get("/health", response_model=Health, summary="Liveness (no auth, touches nothing)")
async def health(settings: SettingsDep) -> Health:
    return Health(environment=settings.environment)


_CHATKIT_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["type", "params"],
                    "properties": {
                        "type": {"type": "string", "example": "threads.create"},
                        "params": {"type": "object"},
                        "metadata": {"type": "object"},
                    },
                },
                "example": {
                    "type": "threads.create",
                    "params": {
                        "input": {
                            "content": [{"type": "input_text", "text": "Add a task: buy milk"}],
                            "quoted_text": "",
                            "attachments": [],
                            "inference_options": {},
                        }
                    },
                },
            }
        },
    }
}


@chatkit_router.post(
    "/chatkit",
    summary="ChatKit protocol endpoint",
    description=(
        "Streaming request types answer `text/event-stream` (one `data: <json>` event per ChatKit event); "
        "the others answer JSON."
    ),
    responses={
        200: {"content": {"text/event-stream": {}, "application/json": {}}},
        400: {"description": "Not JSON, unknown type, or schema violation."},
        401: {"description": "Missing or invalid token."},
        404: {"description": "Thread, item or attachment missing or not the caller's."},
        413: {"description": "Body too large."},
        429: {"description": "Rate limit exceeded."},
        503: {"description": "A dependency is busy or unreachable, or the deadline passed (Retry-After)."},
    },
    openapi_extra=_CHATKIT_BODY_DOC,
)
async def chatkit_endpoint(
    request: Request, caller: Caller, services: ServicesDep, settings: SettingsDep
) -> Response:
    body = await request.body()
    gated = parse_request(body, page_size_cap=settings.page_size_cap)
    server = await services.chatkit_server()
    context = await check_ownership(
        gated,
        server.store,
        caller,
        max_ids=settings.page_size_cap,
    )
    # chatkit.server imports the Agents SDK; by now the server exists, so this costs nothing.
    from chatkit.server import StreamingResult
    from chatkit.store import NotFoundError

    from task_assistant.chat.attachments import AttachmentRejectedError

    try:
        result = await server.process(gated.body, context)
    except ValidationError as exc:  # the gate validated already; kept for safety
        details = validation_details(exc.errors(include_url=False, include_input=False))
        raise BadRequest(summarise(details), details=details) from None
    except NotFoundError:
        raise NotFound("not found") from None
    except AttachmentRejectedError as exc:
        raise BadRequest(str(exc)) from None
    except NotImplementedError:
        raise BadRequest(f"{gated.type} is not supported by this server", code="unsupported") from None
    if isinstance(result, StreamingResult):
        # Consumed as is (see EventStreamResponse): on a client disconnect ChatKit gets one
        # CancelledError and saves the partial answer.
        return EventStreamResponse(
            result,
            headers=STREAM_HEADERS,
            deadline=stream_deadline(request.scope, settings.stream_deadline_seconds),
        )
    return Response(content=result.json, media_type="application/json")


def create_app(
    settings: Settings,
    *,
    door: Literal["function_url", "api_gateway"],
    services: Services | None = None,
) -> FastAPI:
    """The application for one door.

    ``door="function_url"`` verifies the bearer JWT on every authenticated route;
    ``door="api_gateway"`` takes identity from the API Gateway authorizer's claims in the Lambda event
    (and still verifies a JWT if one is sent). ``services`` defaults to parts built lazily from
    ``settings``.
    """
    if door not in ("function_url", "api_gateway"):
        raise ValueError(f"unknown door {door!r}")
    app = FastAPI(
        title="Task assistant API",
        version=API_VERSION,
        description="ChatKit endpoint and tasks REST API of the task assistant.",
    )
    app.state.settings = settings
    app.state.door = door
    app.state.services = services or Services(settings)
    app.state.local_sign_in = None  # set by task_assistant.local.web_sign_in (make dev) only
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(chatkit_router)
    app.include_router(tasks_api.router)
    app.include_router(page.router)

    # Starlette wraps middleware in reverse order of addition: CORS is outermost, so even 401, 413 and
    # 500 answers carry CORS headers and a browser can read them. The deadline is innermost: it starts
    # once the guard has read the body and its 503 carries the request id.
    app.add_middleware(DeadlineMiddleware, request_seconds=settings.request_deadline_seconds)
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=list(cors.ALLOW_METHODS),
            allow_headers=list(cors.ALLOW_HEADERS),
            expose_headers=list(cors.EXPOSE_HEADERS),
            max_age=cors.MAX_AGE_SECONDS,
        )
    logger.debug("app created", extra={"door": door})
    return app

"""The one FastAPI application behind both doors (function URL under uvicorn; API Gateway via Mangum).

Routes: ``POST /chatkit`` (the ChatKit protocol), ``GET /chatkit/feedback`` (feedback given on a thread,
see :mod:`task_assistant.web.feedback_api`), ``GET /health`` (no auth, no AWS calls), ``/tasks``
(REST, see :mod:`task_assistant.web.tasks_api`), and the page to try it in a browser: ``GET /`` with
``/web/page.js``, ``/web/page.css`` and ``/web/config.json`` (no auth, see :mod:`task_assistant.web.page`).
The door is fixed by the entry point that builds the app (:mod:`task_assistant.entry.streaming` or
:mod:`task_assistant.entry.api`), never by the request.

Importing this module and serving ``/health`` does not import the agent stack: the ChatKit server and
the AWS clients are built by :class:`~task_assistant.web.services.Services` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from task_assistant.context import RequestContext
from task_assistant.log import logger
from task_assistant.settings import Settings
from task_assistant.web import cors, feedback_api, page, tasks_api
from task_assistant.web.chatkit_gate import (
    GatedRequest,
    check_model_choice,
    check_ownership,
    parse_request,
)
from task_assistant.web.deadline import DeadlineMiddleware, stream_deadline
from task_assistant.web.deps import AdmissionDep, ServicesDep, SettingsDep
from task_assistant.web.errors import (
    ApiError,
    BadRequest,
    NotFound,
    install_error_handlers,
    summarise,
    validation_details,
)
from task_assistant.web.middleware import RequestGuardMiddleware
from task_assistant.web.services import Services
from task_assistant.web.sse import EventStreamResponse

if TYPE_CHECKING:
    from chatkit.server import ChatKitServer

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
        400: {"description": "Not JSON, unknown or unsupported type, schema violation, model not offered."},
        401: {"description": "Missing or invalid token."},
        404: {"description": "Thread, item, attachment or (widget action) task missing or not the caller's."},
        409: {"description": "A widget action on a task or list that changed meanwhile."},
        413: {"description": "Body (or dictation recording) too large."},
        429: {"description": "Rate limit exceeded."},
        503: {"description": "A dependency is busy or unreachable, or the deadline passed (Retry-After)."},
    },
    openapi_extra=_CHATKIT_BODY_DOC,
)
async def chatkit_endpoint(
    request: Request, admission: AdmissionDep, services: ServicesDep, settings: SettingsDep
) -> Response:
    async def gate() -> tuple[GatedRequest, ChatKitServer[RequestContext], RequestContext]:
        gated = parse_request(await request.body(), page_size_cap=settings.page_size_cap)
        check_model_choice(gated, settings.offered_models)
        server = await services.chatkit_server()
        store, caller, cap = server.store, admission.context, settings.page_size_cap
        return gated, server, await check_ownership(gated, store, caller, max_ids=cap)

    # The gate only reads, so it runs while the rate-limit counter is written: the first event of a
    # turn then waits for one storage round trip fewer (see task_assistant.web.admission).
    gated, server, context = await admission.admitted_after(gate())
    # chatkit.server imports the Agents SDK; by now the server exists, so this costs nothing.
    from chatkit.server import StreamingResult
    from chatkit.store import NotFoundError

    from task_assistant.agent.transcription import DictationError
    from task_assistant.chat.actions import WidgetActionError
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
    except DictationError as exc:
        raise ApiError(exc.status, exc.message, code=exc.code) from None
    except WidgetActionError as exc:
        raise ApiError(exc.status, exc.message) from None
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
    app.include_router(feedback_api.router)
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

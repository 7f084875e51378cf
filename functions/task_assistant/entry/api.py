"""API Gateway entry point: ``task_assistant.entry.api.handler`` (the same app wrapped by Mangum).

This is the ``api_gateway`` door: identity comes from the API Gateway authorizer's claims in the event
(a JWT in ``Authorization``, when present, is still verified). Mangum buffers responses, so this door
serves the JSON routes (``/tasks``, non-streaming ChatKit requests); streaming goes through the
function URL / streaming integration.

Powertools: the Lambda context and the API Gateway request id are attached to every log line, the
handler is traced (X-Ray, when enabled on the function), and metrics go out as EMF in the
``TaskAssistant`` namespace (``POWERTOOLS_METRICS_NAMESPACE`` overrides it): ``ColdStart``,
``ApiRequests``, ``ApiClientErrors`` (4xx) and ``ApiServerErrors`` (5xx), dimensioned by ``service``.

SnapStart: the Python runtime's own hooks (``snapshot_restore_py``, part of the managed runtime, not a
dependency of ours: a copy in the layer would be a second registry the runtime never reads) build the
task service, rate limiter and verifier before the snapshot and renew randomness, connections and caches
after each restore (:mod:`task_assistant.web.snapstart`). Where the library is absent (locally, tests)
nothing is registered.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from task_assistant.log import SERVICE_NAME, logger
from task_assistant.settings import get_settings
from task_assistant.web.app import create_app
from task_assistant.web.snapstart import prepare_snapshot, renew_after_restore

settings = get_settings()
logger.setLevel(settings.log_level.upper())
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=settings.powertools_metrics_namespace, service=SERVICE_NAME)

app = create_app(settings, door="api_gateway")
_adapter = Mangum(app, lifespan="off")


def before_snapshot() -> None:
    """SnapStart, before the snapshot: build what the first request would (no ChatKit server here)."""
    report = asyncio.run(prepare_snapshot(app.state.services, chat=False))
    logger.info(
        "SnapStart before-snapshot hook done", extra={"steps_ms": report.steps_ms, "counts": report.counts}
    )


def after_restore() -> None:
    """SnapStart, after a restore: renew what restored copies must not share."""
    report = renew_after_restore(app.state.services)
    logger.info(
        "SnapStart after-restore hook done", extra={"steps_ms": report.steps_ms, "counts": report.counts}
    )


def register_snapstart_hooks() -> bool:
    """Register :func:`before_snapshot` and :func:`after_restore` with the runtime; False without it."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not on Lambda's Python runtime
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True


register_snapstart_hooks()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda handler for API Gateway (REST or HTTP API) proxy events."""
    response: dict[str, Any] = _adapter(event, context)  # type: ignore[arg-type]
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="ApiServerErrors", unit=MetricUnit.Count, value=1)
    elif status >= 400:
        metrics.add_metric(name="ApiClientErrors", unit=MetricUnit.Count, value=1)
    return response

"""API Gateway entry point: ``task_assistant.entry.api.handler`` (the same app wrapped by Mangum).

This is the ``api_gateway`` door: identity comes from the API Gateway authorizer's claims in the event
(a JWT in ``Authorization``, when present, is still verified). Mangum buffers responses, so this door
serves the JSON routes (``/tasks``, non-streaming ChatKit requests); streaming goes through the
function URL / streaming integration.

Powertools: the Lambda context and the API Gateway request id are attached to every log line, the
handler is traced (X-Ray, when enabled on the function), and metrics go out as EMF in the
``TaskAssistant`` namespace (``POWERTOOLS_METRICS_NAMESPACE`` overrides it): ``ColdStart``,
``ApiRequests``, ``ApiClientErrors`` (4xx) and ``ApiServerErrors`` (5xx), dimensioned by ``service``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from task_assistant.log import SERVICE_NAME, logger
from task_assistant.settings import get_settings
from task_assistant.web.app import create_app

settings = get_settings()
logger.setLevel(settings.log_level.upper())
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=settings.powertools_metrics_namespace, service=SERVICE_NAME)

app = create_app(settings, door="api_gateway")
_adapter = Mangum(app, lifespan="off")


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

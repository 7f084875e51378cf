"""``items.feedback``: the widget's thumbs up / down, stored, counted and logged.

Each request stores one row per item (:class:`~task_assistant.chat.store.feedback.FeedbackStore`), emits
the CloudWatch metric ``ItemFeedback`` (count of items, dimensions ``kind`` = positive|negative and
``service``) in the ``POWERTOOLS_METRICS_NAMESPACE`` namespace, and logs one line with the thread and items.

The metric is written as one Embedded Metric Format line on stdout by an ``EphemeralMetrics`` of its own,
flushed at once: it needs no ``@log_metrics`` handler (the streaming door, a long-running uvicorn behind
the Lambda Web Adapter, has none), shares no state with concurrent requests, and honours
``POWERTOOLS_METRICS_DISABLED``. Emitting it can never fail the request: the row is what counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from task_assistant.chat.store.feedback import Feedback, FeedbackKind, FeedbackStore
from task_assistant.context import RequestContext
from task_assistant.log import SERVICE_NAME, logger

FEEDBACK_METRIC = "ItemFeedback"


def emit_feedback_metric(namespace: str, kind: FeedbackKind, count: int) -> None:
    """One ``ItemFeedback`` data point of ``count`` items (never raises)."""
    try:
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        metrics = EphemeralMetrics(namespace=namespace, service=SERVICE_NAME)
        metrics.add_dimension(name="kind", value=kind)
        metrics.add_metric(name=FEEDBACK_METRIC, unit=MetricUnit.Count, value=count)
        metrics.flush_metrics()
    except Exception:
        logger.exception("Could not emit the feedback metric", extra={"kind": kind})


async def record_feedback(
    store: FeedbackStore,
    thread_id: str,
    item_ids: Sequence[str],
    kind: FeedbackKind,
    context: RequestContext,
    *,
    metrics_namespace: str,
) -> list[Feedback]:
    """Store ``kind`` on each item for the caller, then count and log it."""
    records = await store.save(thread_id, item_ids, kind, context)
    emit_feedback_metric(metrics_namespace, kind, len(records))
    logger.info(
        "Item feedback",
        extra={
            "thread_id": thread_id,
            "item_ids": [r.item_id for r in records],
            "feedback": kind,
            "user_id": context.user_id,
            "request_id": context.request_id,
        },
    )
    return records

"""Which AWS errors mean "a dependency is busy or unreachable" (retry later) rather than a bug of ours.

botocore has already retried these (see :mod:`task_assistant.storage.clients`) when they reach the app, so
the request cannot succeed now; the caller should come back shortly. The HTTP layer answers them with
503 and ``Retry-After`` (:mod:`task_assistant.web.errors`), a stream ends with a retryable error event;
anything else from AWS (validation errors, access denied) stays a 500: that is our fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

#: Error codes AWS services use for throttling (DynamoDB, S3, Secrets Manager and the account-wide limits).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "BandwidthLimitExceeded",
        "TransactionInProgressException",
        "SlowDown",
    }
)

#: What a user is told when a request or a turn could not finish because storage is busy or unreachable.
BUSY_MESSAGE = (
    "The assistant's storage is busy or not answering, so this request was not finished. "
    "Try again in a moment."
)

#: Retry-After (seconds) for each kind: throttling clears quickly; an unreachable service takes longer.
RETRY_AFTER_SECONDS = {"throttled": 2, "unavailable": 5}

FailureKind = Literal["throttled", "unavailable"]


@dataclass(frozen=True)
class DependencyFailure:
    """A dependency that is throttling or not answering; ``retry_after_seconds`` for the client."""

    kind: FailureKind
    error_type: str
    """The AWS error code or botocore exception name, for logs."""

    @property
    def retry_after_seconds(self) -> int:
        return RETRY_AFTER_SECONDS[self.kind]


class DependencyError(Exception):
    """Raised (from the AWS error) by a layer that names a dependency failure in its own terms; the HTTP
    layer answers it as it answers the AWS error itself: 503 with ``Retry-After``."""

    def __init__(self, failure: DependencyFailure, *args: object) -> None:
        super().__init__(*args)
        self.failure = failure


def dependency_failure(exc: BaseException) -> DependencyFailure | None:
    """What ``exc`` says about a dependency, or None if it is not a dependency failure (a bug).

    - throttling codes (``ThrottlingException``, ``ProvisionedThroughputExceededException``,
      ``RequestLimitExceeded``, S3 ``SlowDown``, ...) -> ``throttled``;
    - 5xx answers from AWS, connection failures and connect/read timeouts (``EndpointConnectionError``,
      ``ConnectTimeoutError``, ``ReadTimeoutError``, a dropped connection) -> ``unavailable``.

    Follows explicit chaining (``raise ... from exc``) and looks inside exception groups (task groups
    wrap what their tasks raise).
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found = current.failure if isinstance(current, DependencyError) else _classify(current)
        if found is not None:
            return found
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if current.__cause__ is not None:
            pending.append(current.__cause__)
    return None


def _classify(exc: BaseException) -> DependencyFailure | None:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in THROTTLING_CODES:
            return DependencyFailure("throttled", code)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int) and status >= 500:
            return DependencyFailure("unavailable", code or str(status))
        return None
    if isinstance(exc, ConnectionError | HTTPClientError):
        return DependencyFailure("unavailable", type(exc).__name__)
    return None

"""Storage failures as the ChatKit server reports them.

ChatKit ends a stream with a bare, retryable ``stream.error`` for any exception raised inside its event
loop, which is where it writes each finished item of a turn; only a ``CustomStreamError`` reaches the
user with its own message. So a chat storage call that fails because DynamoDB or S3 is throttling or not
answering (botocore has retried it already) raises :class:`StorageBusyError`: the stream ends saying
what happened, retry allowed. It is also a :class:`~task_assistant.storage.failures.DependencyError`
(chained from the AWS error), so the HTTP layer answers it as before: a JSON request gets 503 with
``Retry-After``, a stream that fails before ChatKit's event loop ends with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from chatkit.errors import CustomStreamError

from task_assistant.log import logger
from task_assistant.storage.clients import run_sync
from task_assistant.storage.failures import (
    BUSY_MESSAGE,
    DependencyError,
    DependencyFailure,
    dependency_failure,
)

P = ParamSpec("P")
R = TypeVar("R")


class StorageBusyError(CustomStreamError, DependencyError):
    """A chat storage call failed because its service is throttling or not answering (``failure``)."""

    def __init__(self, failure: DependencyFailure) -> None:
        CustomStreamError.__init__(self, BUSY_MESSAGE, allow_retry=True)
        self.failure = failure


async def storage_call(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """:func:`~task_assistant.storage.clients.run_sync` for the chat store's DynamoDB and S3 calls:
    a dependency failure becomes :class:`StorageBusyError` (logged once, as a warning, naming the call)."""
    try:
        return await run_sync(func, *args, **kwargs)
    except Exception as exc:
        failure = dependency_failure(exc)
        if failure is None:
            raise
        operation = getattr(func, "__name__", type(func).__name__)
        logger.warning(
            "chat storage call failed",
            extra={"operation": operation, "kind": failure.kind, "error_type": failure.error_type},
        )
        raise StorageBusyError(failure) from exc

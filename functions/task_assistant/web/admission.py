"""A verified caller whose rate-limit count is still in flight, so the request's own reads run meanwhile.

Counting a request is one DynamoDB ``UpdateItem``: a full storage round trip. Awaited before anything
else, it made a turn's first event wait for three round trips in a row (the count, the ChatKit gate's
ownership read, the user-message write) where two suffice. :class:`Admission` starts the
count as soon as the caller is known and lets a route run work that only *reads* while it is written;
the route acts (writes, streams, runs the model) only once admitted.

Over the limit nothing changes for the client: the 429 wins over whatever the reads found (a 404, a 400),
exactly as when the count came first, and the reads are cancelled if still running. What changes is that
a refused request may already have made its reads: a GetItem or two, never a write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from task_assistant.context import RequestContext
from task_assistant.log import logger
from task_assistant.web.errors import RateLimited

if TYPE_CHECKING:
    from task_assistant.web.rate_limits import RateDecision, RateLimitStore

T = TypeVar("T")


async def _refusal(limits_of: Callable[[], Awaitable[RateLimitStore]], user_id: str) -> RateDecision | None:
    """Count one request by ``user_id``: the decision if it is over the limit, else None."""
    limits = await limits_of()
    if not limits.enabled:
        return None
    try:
        decision = await limits.hit(user_id)
    except TimeoutError:
        # Past RATE_LIMIT_TIMEOUT_SECONDS: expected while DynamoDB is slow, so one line, no traceback.
        logger.warning("rate limit check timed out; request allowed", extra={"user_id": user_id})
        return None
    except Exception:
        # Fail open: a counter that cannot be written must not take the whole API down with it.
        logger.exception("rate limit check failed; request allowed")
        return None
    return None if decision.allowed else decision


class Admission:
    """The verified caller of one request and its rate-limit decision, being made concurrently."""

    def __init__(self, context: RequestContext, refusal: asyncio.Future[RateDecision | None]) -> None:
        self.context = context
        self._refusal = refusal

    @classmethod
    def start(cls, context: RequestContext, limits_of: Callable[[], Awaitable[RateLimitStore]]) -> Admission:
        """Start counting the request of ``context``'s user against the limits ``limits_of`` returns."""
        return cls(context, asyncio.ensure_future(_refusal(limits_of, context.user_id)))

    async def admitted(self) -> RequestContext:
        """The caller, once the request is counted; :class:`RateLimited` (429) if it is over the limit."""
        refusal = await self._refusal
        if refusal is not None:
            raise RateLimited(refusal.retry_after_seconds, refusal.limit)
        return self.context

    async def admitted_after(self, reads: Awaitable[T]) -> T:
        """What ``reads`` returns (or raises), once admitted; ``reads`` runs while the request is counted.

        ``reads`` must not write or otherwise act: it runs before the request is admitted. Over the limit
        the 429 is raised whatever ``reads`` did, and ``reads`` is cancelled (and waited for) first.
        """
        task = asyncio.ensure_future(reads)
        try:
            await self.admitted()
        except BaseException:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        return await task

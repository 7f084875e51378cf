"""What the user is told when the model or its provider fails a turn (a ChatKit error event).

A model or provider error ends the stream with a ``custom`` error event whose message says what happened:
retry allowed for passing failures (5xx, dropped streams, rate limits, too many steps), not for a broken
configuration (rejected key, unknown model), which names the settings to check instead. Anything else is
not ours to explain and propagates.
"""

from __future__ import annotations

import httpx
import openai
from agents.exceptions import AgentsException, MaxTurnsExceeded
from chatkit.errors import CustomStreamError

MODEL_FAILED_MESSAGE = (
    "The assistant's model service failed before finishing this answer. Your message is saved; "
    "try again in a moment."
)


def stream_error_for(exc: BaseException, model_name: str) -> CustomStreamError | None:
    """The user-facing error for a failed run, or None if ``exc`` is not a model/provider failure.

    A :class:`ModelConfigurationError` never gets here: only building the model raises it, before the run.
    """
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return CustomStreamError(
            "The model provider rejected the configured API key (OPENAI_API_KEY). "
            "Ask the operator to check it.",
            allow_retry=False,
        )
    if isinstance(exc, openai.NotFoundError):
        return CustomStreamError(
            f"The model provider does not offer the configured model {model_name!r} "
            "(OPENAI_MODEL, OPENAI_MODELS, OPENAI_BASE_URL, OPENAI_API).",
            allow_retry=False,
        )
    if isinstance(exc, openai.RateLimitError):
        return CustomStreamError(
            "The model provider is busy (rate limit). Your message is saved; try again shortly.",
            allow_retry=True,
        )
    if isinstance(exc, MaxTurnsExceeded):
        return CustomStreamError(
            "The assistant took too many steps on this request and stopped. Try rephrasing it.",
            allow_retry=True,
        )
    if isinstance(exc, openai.APIError | httpx.HTTPError | AgentsException):
        return CustomStreamError(MODEL_FAILED_MESSAGE, allow_retry=True)
    return None

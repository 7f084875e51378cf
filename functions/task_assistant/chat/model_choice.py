"""Which model answers a turn: the composer's model picker (``inference_options.model``) or the default.

The HTTP gate refuses a model outside ``OPENAI_MODELS`` with a 400 before streaming; here the choice is
applied, and checked again for callers that bypass the gate (or a message stored before the list
changed, when it is retried), which then get an error event instead of a turn on an unlisted model.
A turn with no new message (after a client tool's output) keeps the choice of the thread's latest user
message. The offline model answers every choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chatkit.errors import CustomStreamError
from chatkit.types import ThreadItem, UserMessageItem

from task_assistant.agent.models import ModelConfigurationError, ModelFactory, ModelNotOffered
from task_assistant.log import logger

if TYPE_CHECKING:
    from agents.models.interface import Model


def requested_model(message: UserMessageItem | None, history: Sequence[ThreadItem]) -> str | None:
    """The model the turn's user message asked for; None for the default."""
    if message is None:
        message = next((item for item in reversed(history) if isinstance(item, UserMessageItem)), None)
    return (message.inference_options.model or None) if message is not None else None


async def model_for_turn(
    models: ModelFactory, message: UserMessageItem | None, history: Sequence[ThreadItem]
) -> tuple[Model, str]:
    """The model for this turn and its name; a :class:`CustomStreamError` when it cannot answer."""
    name = requested_model(message, history) or models.choice.model_name
    try:
        return await models.get_model(name), name
    except ModelNotOffered as exc:
        raise CustomStreamError(str(exc)[0].upper() + str(exc)[1:] + ".", allow_retry=False) from exc
    except ModelConfigurationError as exc:
        logger.error("Model configuration error", extra={"setting": exc.setting, "detail": str(exc)})
        raise CustomStreamError(exc.user_message, allow_retry=False) from exc

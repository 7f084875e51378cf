"""``GET /chatkit/feedback?thread_id=``: the thumbs up/down given on a thread's items, read back.

The widget sends feedback with ``items.feedback`` (``POST /chatkit``); this route returns what was stored
(:mod:`task_assistant.chat.feedback`), to the thread's owner only: another user's thread, like a missing
one, is a 404. Pages follow ``items.list``: ``limit`` (capped at ``PAGE_SIZE_CAP``) and ``after`` (an
item id from the previous page's ``after``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from task_assistant.web.deps import Caller, ServicesDep, SettingsDep
from task_assistant.web.errors import NotFound

router = APIRouter(tags=["chatkit"])

_ID_MAX_CHARS = 256


class FeedbackOut(BaseModel):
    """Feedback on one item."""

    item_id: str
    kind: Literal["positive", "negative"]
    user_id: str = Field(description="Who gave it (the thread's owner).")
    created_at: datetime = Field(description="When it was given (UTC); giving it again replaces it.")


class FeedbackPageOut(BaseModel):
    """A page of a thread's feedback, in item id order."""

    data: list[FeedbackOut]
    has_more: bool
    after: str | None = Field(None, description="Pass as `after` for the next page; null on the last.")


@router.get(
    "/chatkit/feedback",
    response_model=FeedbackPageOut,
    summary="Feedback given on a thread's items (owner only)",
    responses={404: {"description": "Thread missing or not the caller's."}},
)
async def list_feedback(
    caller: Caller,
    services: ServicesDep,
    settings: SettingsDep,
    thread_id: Annotated[str, Query(min_length=1, max_length=_ID_MAX_CHARS)],
    limit: Annotated[int, Query(ge=1, description="Page size (capped at PAGE_SIZE_CAP).")] = 20,
    after: Annotated[str | None, Query(min_length=1, max_length=_ID_MAX_CHARS)] = None,
) -> FeedbackPageOut:
    # The ChatKit server owns the store and the feedback rows; importing chatkit here keeps /health light.
    from chatkit.store import NotFoundError

    from task_assistant.chat.server import TaskChatKitServer

    server = await services.chatkit_server()
    if not isinstance(server, TaskChatKitServer) or server.feedback is None:
        raise NotFound("feedback is not stored by this server")
    try:
        await server.store.load_thread(thread_id, context=caller)
    except NotFoundError:
        raise NotFound("thread not found") from None
    page = await server.feedback.load(
        thread_id, caller, limit=min(limit, settings.page_size_cap), after=after
    )
    return FeedbackPageOut(
        data=[FeedbackOut(**record.model_dump()) for record in page.data],
        has_more=page.has_more,
        after=page.after,
    )

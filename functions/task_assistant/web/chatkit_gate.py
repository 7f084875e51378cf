"""Everything checked about a ChatKit request before ``server.process`` runs it.

``process`` answers streaming requests with a ``StreamingResult`` before doing any work, so a missing or
foreign thread would surface only inside an already-200 stream, and a schema violation would raise a
bare pydantic ``ValidationError``. This gate parses the body with chatkit's own request ``TypeAdapter``
first and checks every id the request names against the caller's store, so those become proper 400 and
404 answers before a single byte of stream is sent. What each request type names and requires is
:mod:`task_assistant.web.chatkit_requests`.

That module imports ``chatkit.types``, which takes most of a second; the app imports this module, and
``/health`` must stay light, so both functions below import it on first use.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from task_assistant.context import RequestContext
from task_assistant.web.errors import BadRequest, summarise, validation_details

if TYPE_CHECKING:
    from chatkit.store import Store

_PAGED_TYPES = frozenset({"threads.list", "items.list"})


@dataclass(frozen=True)
class GatedRequest:
    """A request that passed the gate: the body to hand to ``process`` and how it will answer."""

    body: bytes
    type: str
    streaming: bool
    parsed: Any


def parse_request(body: bytes, *, page_size_cap: int) -> GatedRequest:
    """Parse and validate a ChatKit request body; :class:`BadRequest` names the first problem.

    A ``params.limit`` above ``page_size_cap`` is lowered to the cap (the body handed on is rewritten);
    a limit below 1 is refused.
    """
    from task_assistant.web.chatkit_requests import REQUEST_ADAPTER, STREAMING_TYPES

    data = _json_object(body)
    kind = _request_type(data)
    if _cap_limit(data, kind, page_size_cap):
        body = json.dumps(data).encode()
    try:
        parsed = REQUEST_ADAPTER.validate_json(body)
    except ValidationError as exc:
        details = validation_details(exc.errors(include_url=False, include_input=False))
        # chatkit's union is discriminated by type; drop that level from locations for readability.
        for detail in details:
            if detail["loc"] and detail["loc"][0] == kind:
                detail["loc"] = detail["loc"][1:]
        raise BadRequest(summarise(details), details=details) from None
    if kind == "input.transcribe":
        # chatkit decodes this itself and would fail with a bare binascii.Error (a 500): check it here.
        try:
            base64.b64decode(parsed.params.audio_base64)
        except (binascii.Error, ValueError):
            raise BadRequest("params.audio_base64 is not valid base64") from None
    return GatedRequest(body=body, type=kind, streaming=kind in STREAMING_TYPES, parsed=parsed)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON", code="invalid_json") from None
    except RecursionError:
        # json.loads recurses once per nesting level: a small body nested a few thousand deep ends here.
        raise BadRequest("request body is nested too deeply", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object with 'type' and 'params'")
    return data


def _request_type(data: dict[str, Any]) -> str:
    from task_assistant.web.chatkit_requests import REQUEST_TYPES, SUPPORTED_TYPES, shown

    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadRequest("'type' is required and must be a string naming the request type")
    # A known but unsupported type passes on: its ids are checked first (another user's stay 404s), then
    # the server answers 400 `unsupported`. The list offered here names only what is supported.
    if kind not in REQUEST_TYPES:
        raise BadRequest(
            f"unknown request type {shown(kind)!r}; expected one of: {', '.join(sorted(SUPPORTED_TYPES))}"
        )
    return kind


def check_model_choice(request: GatedRequest, offered: Sequence[str]) -> None:
    """400 when a new message asks for a model (the composer's picker) that is not in ``offered``."""
    from task_assistant.web.chatkit_requests import requested_model, shown

    model = requested_model(request.parsed)
    if model is None or model in offered:
        return
    message = f"model {shown(model)!r} is not offered here; choose one of: {', '.join(offered)}"
    loc = ["params", "input", "inference_options", "model"]
    raise BadRequest(message, details=[{"loc": loc, "msg": "not an offered model"}])


def _cap_limit(data: dict[str, Any], kind: str, page_size_cap: int) -> bool:
    """Lower ``params.limit`` to the cap in place; True when ``data`` changed."""
    params = data.get("params")
    if kind not in _PAGED_TYPES or not isinstance(params, dict):
        return False
    limit = params.get("limit")
    if type(limit) is not int:
        return False
    if limit < 1:
        raise BadRequest("params.limit must be at least 1")
    if limit <= page_size_cap:
        return False
    params["limit"] = page_size_cap
    return True


async def check_ownership(
    request: GatedRequest,
    store: Store[RequestContext],
    context: RequestContext,
    *,
    max_ids: int,
) -> RequestContext:
    """404 unless every thread, item and attachment the request names exists and is the caller's.

    Also refuses (400/409), before streaming, requests chatkit would fail inside the stream: an item of
    the wrong kind for the operation, or a structured input / client tool call that is not pending.
    Returns the context to process the request with: ``context``, carrying the thread loaded here (if
    the request names one), which ChatKit's server would otherwise load again first thing.
    """
    from task_assistant.web.chatkit_requests import check_state, load_owned, references

    owned = await load_owned(references(request.parsed), store, context, max_ids=max_ids)
    await check_state(request.parsed, owned, store, context)
    return context if owned.thread is None else context.with_preloaded_thread(owned.thread)

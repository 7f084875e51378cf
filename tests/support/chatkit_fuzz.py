"""ChatKit request bodies generated with Hypothesis from chatkit's own request types.

:func:`chatkit_bodies` walks the pydantic models of every request in ``chatkit.types.ChatKitReq`` (their
type hints: literals, unions, lists, nested models, ``Any``) and draws JSON shaped like them: the ``type``
and every required field, optional ones half of the time. Ids can be swapped for real ones of the caller
(``known_ids``), so requests get past the 404s into the store and the agent. On top, a share of bodies
is mutated (a field dropped, retyped or replaced by arbitrary JSON) or is not a request at all.
Hypothesis's own ``from_type`` cannot build these models: several fields are typed ``Any``.
:func:`send_chatkit` sends one body (reading a stream to its end); :func:`contract_problem` judges the
answer.

Used by the reliability tests (a small count) and ``bench/reliability_bench.py`` (thousands).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, get_args, get_origin

import httpx
from chatkit.types import ChatKitReq
from hypothesis import strategies as st
from pydantic import BaseModel

_MAX_DEPTH = 6
_ID_FIELDS = frozenset({"thread_id", "item_id", "attachment_id", "after", "before", "id"})

# Any JSON value: where a field's type is wrong, an id is huge, or an integer overflows 64 bits.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def request_models() -> list[type[BaseModel]]:
    """Every request model in chatkit's ``ChatKitReq`` union (streaming and JSON)."""
    return [m for m in get_args(_unwrap(ChatKitReq)) if isinstance(m, type) and issubclass(m, BaseModel)]


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


@cache
def _hints(model: type[BaseModel]) -> dict[str, Any]:
    return typing.get_type_hints(model)


def shaped(annotation: Any, known_ids: st.SearchStrategy[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values shaped like ``annotation`` (a chatkit type)."""
    annotation = _unwrap(annotation)
    if depth > _MAX_DEPTH:
        return scalars
    if annotation is Any or annotation is object:
        return json_values
    container = _container(annotation, known_ids, depth)
    if container is not None:
        return container
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation, known_ids, depth)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from([member.value for member in annotation])
    return _scalar(annotation)


def _container(
    annotation: Any, known_ids: st.SearchStrategy[str], depth: int
) -> st.SearchStrategy[Any] | None:
    """Literals, unions, lists and dicts; None for anything else."""
    origin = get_origin(annotation)
    if origin is typing.Literal:
        return st.sampled_from(get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([shaped(arg, known_ids, depth + 1) for arg in get_args(annotation)])
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        args = get_args(annotation) or (Any,)
        return st.lists(shaped(args[0], known_ids, depth + 1), max_size=3)
    if origin is dict or annotation is dict:
        args = get_args(annotation) or (str, Any)
        return st.dictionaries(st.text(max_size=8), shaped(args[1], known_ids, depth + 1), max_size=3)
    return None


def _scalar(annotation: Any) -> st.SearchStrategy[Any]:
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(-(2**33), 2**33)
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is datetime:
        return st.datetimes().map(datetime.isoformat)
    return st.text(max_size=40)


def _model(model: type[BaseModel], known_ids: st.SearchStrategy[str], depth: int) -> st.SearchStrategy[Any]:
    hints = _hints(model)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            if not info.is_required() and name != "type" and draw(st.booleans()):
                continue
            value_strategy = shaped(hints.get(name, Any), known_ids, depth + 1)
            if name in _ID_FIELDS:
                value_strategy = known_ids | value_strategy
            out[info.alias or name] = draw(value_strategy)
        return out

    return build()


@st.composite
def mutated(draw: st.DrawFn, body: dict[str, Any]) -> Any:
    """``body`` with one to three of: a param dropped, replaced by arbitrary JSON, the type changed."""
    params = body.get("params")
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "replace", "retype", "add"]))
        if op == "drop" and isinstance(params, dict) and params:
            params.pop(draw(st.sampled_from(sorted(params))))
        elif op == "replace" and isinstance(params, dict) and params:
            params[draw(st.sampled_from(sorted(params)))] = draw(json_values)
        elif op == "retype":
            body["type"] = draw(st.sampled_from([m.model_fields["type"].default for m in request_models()]))
        elif op == "add":
            body[draw(st.text(max_size=8))] = draw(json_values)
    return body


def chatkit_bodies(known_ids: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Request bodies: mostly shaped by chatkit's types, some mutated, some arbitrary JSON."""
    shaped_requests = st.one_of([_model(model, known_ids, 0) for model in request_models()])
    return st.one_of(
        shaped_requests,
        shaped_requests,
        shaped_requests.flatmap(mutated),
        json_values,
    )


# --- sending and judging --------------------------------------------------------------------------


def send_chatkit(client: httpx.Client, body: Any) -> tuple[int, list[dict[str, Any]], bytes]:
    """POST ``body``; the status, the SSE events (streams are read to the end) and the raw body."""
    with client.stream("POST", "/chatkit", content=json.dumps(body).encode()) as response:
        raw = response.read()
    events = []
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        # SSE lines end at CR or LF only; str.splitlines would also split inside JSON strings at U+2028.
        lines = raw.decode().replace("\r\n", "\n").split("\n")
        events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    return response.status_code, events, raw


def contract_problem(status: int, events: list[dict[str, Any]], raw: bytes) -> str | None:
    """What is wrong with an answer, or None: 5xx, an error that is not the JSON contract, a bare
    ``stream.error`` (a fault of ours hidden in a 200)."""
    if status >= 500:
        return f"{status}: {raw[:300]!r}"
    if status >= 400:
        try:
            error = json.loads(raw).get("error", {})
        except ValueError:
            return f"{status} with a body that is not JSON: {raw[:300]!r}"
        if not (error.get("code") and error.get("message")):
            return f"{status} without the error contract: {raw[:300]!r}"
    if any(e.get("type") == "error" and e.get("code") == "stream.error" for e in events):
        return f"stream.error in a stream: {raw[-300:]!r}"
    return None

"""Responses API objects for one step of the offline model: the output items, the response, its stream.

The stream is the event sequence OpenAI sends for a response (``response.created``,
``response.in_progress``, each output item's own events ending in ``response.output_item.done``, then
``response.completed``), so the Agents SDK and ChatKit's bridge handle it exactly as they handle OpenAI's.
A step is one assistant message, or one or more function calls (several tasks in one message).
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Literal, cast

from agents.items import TResponseOutputItem, TResponseStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails, ResponseUsage

OFFLINE_MODEL_NAME = "offline"
"""The model name reported in responses and in the startup log ("offline model")."""


def new_id(prefix: str) -> str:
    # Assistant message ids become thread item ids, so they must be unique across the thread.
    return f"{prefix}_{uuid.uuid4().hex}"


def function_call_item(name: str, arguments: dict[str, Any]) -> ResponseFunctionToolCall:
    """A completed ``function_call`` output item."""
    return ResponseFunctionToolCall(
        type="function_call",
        id=new_id("fc"),
        call_id=new_id("call"),
        name=name,
        arguments=json.dumps(arguments, ensure_ascii=False),
        status="completed",
    )


def message_item(text: str) -> ResponseOutputMessage:
    """A completed assistant ``message`` output item with one text part."""
    return ResponseOutputMessage(
        type="message",
        id=new_id("msg"),
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def response_for(output: list[TResponseOutputItem], status: Literal["completed", "in_progress"]) -> Response:
    """A response holding ``output``; a completed one reports zero usage (no tokens are spent)."""
    usage = ResponseUsage(
        input_tokens=0,
        output_tokens=0,
        total_tokens=0,
        input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
    )
    return Response(
        id=new_id("resp"),
        created_at=time.time(),
        model=OFFLINE_MODEL_NAME,
        object="response",
        output=output,
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=False,
        status=status,
        usage=usage if status == "completed" else None,
    )


def text_chunks(text: str, pieces: int = 4) -> list[str]:
    """Split ``text`` into a few deltas at word boundaries (joined, they give back ``text``)."""
    words = re.findall(r"\S+\s*|\s+", text)
    if len(words) <= 1:
        return [text]
    size = max(1, -(-len(words) // pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def stream_events_for(items: Sequence[TResponseOutputItem]) -> list[TResponseStreamEvent]:
    """The Responses API event sequence that streams a response of ``items``, as OpenAI sends it."""
    seq = itertools.count()
    started = response_for([], "in_progress")
    events: list[Any] = [
        ResponseCreatedEvent(type="response.created", response=started, sequence_number=next(seq)),
        ResponseInProgressEvent(type="response.in_progress", response=started, sequence_number=next(seq)),
    ]
    for index, item in enumerate(items):
        if isinstance(item, ResponseFunctionToolCall):
            events += _function_call_events(item, index, seq)
        elif isinstance(item, ResponseOutputMessage):
            events += _message_events(item, index, seq)
        events.append(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done", item=item, output_index=index, sequence_number=next(seq)
            )
        )
    events.append(
        ResponseCompletedEvent(
            type="response.completed",
            response=response_for(list(items), "completed"),
            sequence_number=next(seq),
        )
    )
    return cast(list[TResponseStreamEvent], events)


def _function_call_events(item: ResponseFunctionToolCall, index: int, seq: Iterator[int]) -> list[Any]:
    """The item added without arguments, then its arguments in one delta."""
    assert item.id is not None
    return [
        ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=item.model_copy(update={"arguments": "", "status": "in_progress"}),
            output_index=index,
            sequence_number=next(seq),
        ),
        ResponseFunctionCallArgumentsDeltaEvent(
            type="response.function_call_arguments.delta",
            item_id=item.id,
            output_index=index,
            delta=item.arguments,
            sequence_number=next(seq),
        ),
        ResponseFunctionCallArgumentsDoneEvent(
            type="response.function_call_arguments.done",
            item_id=item.id,
            output_index=index,
            arguments=item.arguments,
            sequence_number=next(seq),
        ),
    ]


def _message_events(item: ResponseOutputMessage, index: int, seq: Iterator[int]) -> list[Any]:
    """The message added empty, one text part opened, its text in several deltas, the part closed."""
    text = "".join(c.text for c in item.content if isinstance(c, ResponseOutputText))
    events: list[Any] = [
        ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=item.model_copy(update={"content": [], "status": "in_progress"}),
            output_index=index,
            sequence_number=next(seq),
        ),
        ResponseContentPartAddedEvent(
            type="response.content_part.added",
            item_id=item.id,
            output_index=index,
            content_index=0,
            part=ResponseOutputText(type="output_text", text="", annotations=[]),
            sequence_number=next(seq),
        ),
    ]
    events += [
        ResponseTextDeltaEvent(
            type="response.output_text.delta",
            item_id=item.id,
            output_index=index,
            content_index=0,
            delta=delta,
            logprobs=[],
            sequence_number=next(seq),
        )
        for delta in text_chunks(text)
    ]
    events.append(
        ResponseTextDoneEvent(
            type="response.output_text.done",
            item_id=item.id,
            output_index=index,
            content_index=0,
            text=text,
            logprobs=[],
            sequence_number=next(seq),
        )
    )
    events.append(
        ResponseContentPartDoneEvent(
            type="response.content_part.done",
            item_id=item.id,
            output_index=index,
            content_index=0,
            part=ResponseOutputText(type="output_text", text=text, annotations=[]),
            sequence_number=next(seq),
        )
    )
    return events

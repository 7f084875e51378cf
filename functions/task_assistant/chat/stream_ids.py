"""Store ids for the items a model produces, whatever the provider called them.

``chatkit.agents.stream_agent_response`` names each assistant message after the model's output item.
Providers do not promise ids fit to be primary keys: every Chat Completions answer carries the Agents
SDK's placeholder ``__fake_id__`` (chatkit-python issue 36), so all of a thread's replies would overwrite
one another in the store and in the widget, and OpenAI-compatible Responses servers differ in what they
send. :func:`with_store_ids` gives every assistant message a fresh id from the store, the same one in its
``added``, ``updated`` and ``done`` events (and a later ``removed``), whichever API produced it. A client
tool call still named ``__fake_id__`` gets a store id too. Items the server makes itself (widgets,
workflows, progress) already carry store ids and pass untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.store import Store
from chatkit.types import (
    AssistantMessageItem,
    ClientToolCallItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemRemovedEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
)

from task_assistant.context import RequestContext


async def with_store_ids(
    events: AsyncIterator[ThreadStreamEvent],
    store: Store[RequestContext],
    thread: ThreadMetadata,
    context: RequestContext,
) -> AsyncIterator[ThreadStreamEvent]:
    """``events`` with each model-made item renamed to an id from ``store`` (see the module docstring).

    A provider id maps to the store id of the message it is streaming *now*: Chat Completions reuses its
    placeholder for every message, so a new ``added`` starts a new mapping and ``done`` ends it. A
    ``removed`` for a provider id (chatkit's guardrail clean-up) removes every message issued under it.
    """
    streaming: dict[str, str] = {}
    issued: dict[str, list[str]] = {}

    def store_id_for(provider_id: str) -> str:
        store_id = store.generate_item_id("message", thread, context)
        issued.setdefault(provider_id, []).append(store_id)
        return store_id

    async for event in events:
        if isinstance(event, ThreadItemAddedEvent) and isinstance(event.item, AssistantMessageItem):
            streaming[event.item.id] = store_id = store_id_for(event.item.id)
            yield ThreadItemAddedEvent(item=event.item.model_copy(update={"id": store_id}))
        elif isinstance(event, ThreadItemDoneEvent) and isinstance(event.item, AssistantMessageItem):
            store_id = streaming.pop(event.item.id, "") or store_id_for(event.item.id)
            yield ThreadItemDoneEvent(item=event.item.model_copy(update={"id": store_id}))
        elif isinstance(event, ThreadItemUpdatedEvent) and event.item_id in streaming:
            yield event.model_copy(update={"item_id": streaming[event.item_id]})
        elif isinstance(event, ThreadItemRemovedEvent) and event.item_id in issued:
            streaming.pop(event.item_id, None)
            for store_id in issued.pop(event.item_id):
                yield ThreadItemRemovedEvent(item_id=store_id)
        elif (
            isinstance(event, ThreadItemDoneEvent)
            and isinstance(event.item, ClientToolCallItem)
            and event.item.id == FAKE_RESPONSES_ID
        ):
            tool_call_id = store.generate_item_id("tool_call", thread, context)
            yield ThreadItemDoneEvent(item=event.item.model_copy(update={"id": tool_call_id}))
        else:
            yield event

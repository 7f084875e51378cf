"""The offline model as an Agents SDK :class:`~agents.models.interface.Model`: read, decide, answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.usage import Usage
from openai.types.responses.response_prompt_param import ResponsePromptParam

from task_assistant.agent.offline.conversation import read_conversation
from task_assistant.agent.offline.events import (
    OFFLINE_MODEL_NAME,
    function_call_item,
    message_item,
    stream_events_for,
)
from task_assistant.agent.offline.planner import Reply, decide


class OfflineModel(Model):
    """A deterministic, network-free :class:`~agents.models.interface.Model` (see the package docs).

    One call makes the ``function_call`` items for the user's request (one per task it names), or, once
    this turn's tool results are in, an assistant message (streamed in several text deltas).
    """

    name = OFFLINE_MODEL_NAME

    def _next_items(
        self, input: str | list[TResponseInputItem], tools: list[Tool]
    ) -> list[TResponseOutputItem]:
        step = decide(read_conversation(input), tools)
        if isinstance(step, Reply):
            return [message_item(step.text)]
        return [function_call_item(call.name, call.arguments) for call in step]

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        return ModelResponse(output=self._next_items(input, tools), usage=Usage(requests=1), response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        for event in stream_events_for(self._next_items(input, tools)):
            yield event

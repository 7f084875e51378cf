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
from task_assistant.agent.offline.planner import Call, decide


class OfflineModel(Model):
    """A deterministic, network-free :class:`~agents.models.interface.Model` (see the package docs).

    One call makes one output item: a ``function_call`` for the user's request, or, once this turn's
    tool results are in, an assistant message (streamed in several text deltas).
    """

    name = OFFLINE_MODEL_NAME

    def _next_item(self, input: str | list[TResponseInputItem], tools: list[Tool]) -> TResponseOutputItem:
        step = decide(read_conversation(input), tools)
        if isinstance(step, Call):
            return function_call_item(step.name, step.arguments)
        return message_item(step.text)

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
        item = self._next_item(input, tools)
        return ModelResponse(output=[item], usage=Usage(requests=1), response_id=None)

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
        item = self._next_item(input, tools)
        for event in stream_events_for(item):
            yield event

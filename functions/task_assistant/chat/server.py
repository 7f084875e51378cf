"""The ChatKit server: each user message runs the task agent and streams its answer into the thread.

``respond`` (one turn):

1. loads the ``settings.history_max_items`` items that end with the turn's own message, with one
   newest-first Query, so a turn costs the same at 10 items or 10,000 and answers its own message even
   when others arrive on the thread meanwhile (:mod:`task_assistant.chat.turns`: the cut, and where the
   turn's items are placed);
2. converts them with :class:`~task_assistant.chat.converter.TaskThreadItemConverter` (attachments,
   task-list widgets as numbered text, assistant messages in the form the provider's API takes);
3. picks the model the message asked for (:mod:`task_assistant.chat.model_choice`), opens the task tools
   for the verified caller (an in-memory MCP session, see :mod:`task_assistant.tasks.mcp_bridge`), with
   what they already changed for this message when this is a retry (:mod:`task_assistant.chat.effects`),
   and runs the agent with ``Runner.run_streamed``;
4. streams through ``chatkit.agents.stream_agent_response``: text deltas, and what the tools do as a
   workflow item that stays in the thread ("Added “buy milk”"), with a task-list widget whenever
   ``list_tasks`` returns (:mod:`task_assistant.chat.activity`); tool calls run one at a time, in order;
   the model's messages get store ids (:mod:`task_assistant.chat.stream_ids`);
5. gives a new thread a title from its first message (a heuristic: free and instant).

Failures: a model or provider error ends the stream with a ``custom`` error event (``allow_retry``) whose
message says what happened; the user's message is already saved and the thread stays usable. A broken
configuration (unreadable key, key or model rejected by the provider) says which setting to fix and does
not offer a retry. Tool errors never get here: they go back to the model as tool results. If the client
disconnects, ``CancelledError`` propagates untouched so ChatKit saves the partial answer, and the agent
run is cancelled so no tool runs for a reader who has gone; so it is when ChatKit stops reading the turn
because a write of its own failed (storage busy). Either way the workflow of the tools that already ran
is stored too.

``add_feedback`` stores the widget's thumbs up/down (:mod:`task_assistant.chat.feedback`) and
``transcribe`` answers dictation (:mod:`task_assistant.agent.transcription`).

``sync_action`` (and ``action``, for widgets stored before) handles the task list's ``task.complete``:
it completes the task as the caller and redraws the widget item (:mod:`task_assistant.chat.actions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import openai
from agents import RunConfig, Runner
from agents.run_config import ToolExecutionConfig
from chatkit.actions import Action
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.store import Store
from chatkit.types import (
    AudioInput,
    FeedbackKind,
    SyncCustomActionResponse,
    ThreadItem,
    ThreadItemReplacedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    TranscriptionResult,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
)

from task_assistant.agent.agent import MAX_TURNS, build_agent
from task_assistant.agent.models import ModelFactory
from task_assistant.agent.transcription import Transcriber
from task_assistant.chat.actions import ItemUpdater, WidgetActionError, complete_from_widget
from task_assistant.chat.activity import ToolActivity, interrupted_workflow, save_interrupted_workflows
from task_assistant.chat.converter import Delivery, ModelApi, TaskThreadItemConverter
from task_assistant.chat.feedback import record_feedback
from task_assistant.chat.model_choice import model_for_turn

# MODEL_FAILED_MESSAGE is re-exported: it was defined here, and tests and callers import it from here.
from task_assistant.chat.run_errors import MODEL_FAILED_MESSAGE as MODEL_FAILED_MESSAGE
from task_assistant.chat.run_errors import stream_error_for
from task_assistant.chat.stream_ids import with_store_ids
from task_assistant.chat.turns import Turn, TurnStore, open_turn, retried_item_id
from task_assistant.chat.widgets import rows_of
from task_assistant.context import RequestContext
from task_assistant.log import logger
from task_assistant.settings import Settings
from task_assistant.tasks.service import TaskService

if TYPE_CHECKING:
    from agents.mcp import MCPServer

    from task_assistant.chat.attachments import S3AttachmentStore
    from task_assistant.chat.effects import ToolEffectsTable
    from task_assistant.chat.store.feedback import FeedbackStore

TaskToolsOpener = Callable[[RequestContext], AbstractAsyncContextManager["MCPServer"]]
"""Opens the task tools for one caller: ``async with opener(context) as mcp_server: ...``."""

THREAD_TITLE_MAX_CHARS = 60
"""A thread title made from the first message is cut to this length (a task's own limit is separate)."""


# --------------------------------------------------------------------------------------------------
# Titles


def title_from_message(item: UserMessageItem) -> str:
    """A short thread title from the first message: its first line, at most ``THREAD_TITLE_MAX_CHARS``.

    Deterministic and free (no model call). Long text is cut at a word boundary with an ellipsis; a
    message with only attachments is titled after the first attachment.
    """
    text = "".join(part.text for part in item.content if isinstance(part, UserMessageTextContent))
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    if not line:
        return (
            f"Attachment: {item.attachments[0].name}"[:THREAD_TITLE_MAX_CHARS]
            if item.attachments
            else "New chat"
        )
    if len(line) > THREAD_TITLE_MAX_CHARS:
        cut = line[: THREAD_TITLE_MAX_CHARS - 1]
        cut = cut.rsplit(" ", 1)[0] if " " in cut[THREAD_TITLE_MAX_CHARS // 2 :] else cut
        line = cut.rstrip(" ,.;:-") + "\u2026"
    return line[0].upper() + line[1:]


# --------------------------------------------------------------------------------------------------
# The server


class TaskChatKitServer(ChatKitServer[RequestContext]):
    """ChatKit server of the task assistant.

    Args:
        store: thread and item store (``DynamoDBStore`` in the application).
        attachment_store: S3 attachment store, also used to hand attachments to the model; None
            disables attachments.
        tasks: the task service the widget action uses (the agent reaches tasks only through MCP).
        task_tools: opens the MCP task tools for one caller, usually
            ``functools.partial(open_task_tools, tools_server)``.
        models: picks and builds the model (offline, OpenAI or a compatible provider).
        settings: limits (``history_max_items``) and storage endpoints.
        attachment_delivery: how images and PDFs reach the model; default: inline bytes when S3 is a
            local endpoint the provider cannot reach or the provider speaks Chat Completions (which takes
            no file URLs), presigned URLs otherwise (and always for the offline model, which reads none).
        tool_effects: where the changes made for each user message are recorded, so a retried turn
            does not make them again (:mod:`task_assistant.chat.effects`); None: not recorded.
        feedback: where ``items.feedback`` is stored (None: the request is unsupported).
    """

    def __init__(
        self,
        store: Store[RequestContext],
        attachment_store: S3AttachmentStore | None,
        *,
        tasks: TaskService,
        task_tools: TaskToolsOpener,
        models: ModelFactory,
        settings: Settings,
        attachment_delivery: Delivery | None = None,
        tool_effects: ToolEffectsTable | None = None,
        feedback: FeedbackStore | None = None,
    ) -> None:
        super().__init__(store, attachment_store)
        self.tasks = tasks
        self.tool_effects = tool_effects
        self.task_tools = task_tools
        self.models = models
        self.settings = settings
        self.feedback = feedback
        self.transcriber = Transcriber(models, settings)
        if attachment_delivery is None:
            # Inline when the provider cannot fetch from S3 (a local endpoint) or cannot take file URLs
            # (Chat Completions accepts only inline file data); the offline model reads nothing.
            local_s3 = settings.s3_endpoint_url is not None
            chat_completions = models.choice.kind == "openai_chat_completions"
            attachment_delivery = (
                "inline" if not models.is_offline and (local_s3 or chat_completions) else "url"
            )
        self.attachment_delivery: Delivery = attachment_delivery
        # The base class keeps it as a generic AttachmentStore; the converter needs the S3 methods.
        self._s3_attachments = attachment_store

    # --- respond ----------------------------------------------------------------------------------

    async def process(
        self, request: str | bytes | bytearray, context: RequestContext
    ) -> StreamingResult | NonStreamingResult:
        """ChatKit's ``process``; a retry's context names the message it answers again (for the tools)."""
        item_id = retried_item_id(request)
        return await super().process(request, context if item_id is None else context.retrying(item_id))

    def _tools_context(self, context: RequestContext, turn: Turn) -> RequestContext:
        """The caller the task tools act for, with what the tools already did for the turn's message."""
        if self.tool_effects is None or turn.message is None:
            return context
        effects = self.tool_effects.for_message(context, turn.thread_id, turn.message.id)
        return context.with_tool_effects(effects)

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: RequestContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        """One turn of the agent on the thread's recent history (see the module docstring)."""
        if input_user_message is not None and not thread.title:
            # Set before the run: ChatKit saves the thread and tells the client as soon as it changes.
            thread.title = title_from_message(input_user_message)

        limit = self.settings.history_max_items
        turn = await open_turn(self.store, thread, input_user_message, limit, context)
        history = turn.history
        titles = {
            row.id.upper(): row.title
            for item in history
            if isinstance(item, WidgetItem)
            for row in rows_of(item.widget) or []
        }
        api: ModelApi = (
            "chat_completions" if self.models.choice.kind == "openai_chat_completions" else "responses"
        )
        converter = TaskThreadItemConverter(
            self._s3_attachments, context, delivery=self.attachment_delivery, api=api, tasks=self.tasks
        )
        model_input = await converter.to_agent_input(history)
        model, model_name = await model_for_turn(self.models, input_user_message, history)

        agent_context = AgentContext[RequestContext](
            thread=thread, store=TurnStore(self.store, turn), request_context=context
        )
        async with self.task_tools(self._tools_context(context, turn)) as tools:
            result = Runner.run_streamed(
                build_agent(model, tools),
                model_input,
                context=agent_context,
                hooks=ToolActivity(titles, lists=self.store if isinstance(self.store, ItemUpdater) else None),
                max_turns=MAX_TURNS,
                # Traces would upload conversations to OpenAI; nothing here opts into that. Tool calls of
                # one model response run in order: "rename X, then complete X" must not race.
                run_config=RunConfig(
                    tracing_disabled=True,
                    tool_execution=ToolExecutionConfig(max_function_tool_concurrency=1),
                ),
            )
            try:
                events = stream_agent_response(agent_context, result)
                async for event in with_store_ids(events, self.store, thread, context):
                    yield turn.place(event)
            except (asyncio.CancelledError, GeneratorExit):
                # The client went away, or ChatKit stopped reading (a write of its own failed): stop the
                # run here, so no model or tool call runs for a turn that has ended and the run's task
                # is not left to the garbage collector. A cancellation then reaches ChatKit, which saves
                # the partial answer.
                result.cancel()
                raise
            except Exception as exc:
                result.cancel()
                if (stopped := interrupted_workflow(agent_context)) is not None:
                    yield turn.place(stopped)  # what the tools did before the failure stays in the thread
                error = stream_error_for(exc, model_name)
                if error is None:
                    raise
                logger.warning(
                    "Agent run failed",
                    extra={
                        "thread_id": thread.id,
                        "user_id": context.user_id,
                        "request_id": context.request_id,
                        "error_type": type(exc).__name__,
                        "status_code": getattr(exc, "status_code", None),
                        # A rejected-key message may echo (part of) the key: keep it out of the log.
                        "error": "" if isinstance(exc, openai.AuthenticationError) else str(exc)[:500],
                    },
                )
                raise error from exc

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: RequestContext
    ) -> None:
        """ChatKit saves the partial answer; the workflow of the tools that already ran is saved too."""
        await save_interrupted_workflows(self.store, thread.id, pending_items, context)
        await super().handle_stream_cancelled(thread, pending_items, context)

    # --- feedback and dictation --------------------------------------------------------------------

    async def add_feedback(
        self, thread_id: str, item_ids: list[str], feedback: FeedbackKind, context: RequestContext
    ) -> None:
        """Store the thumbs up/down with the items (see :mod:`task_assistant.chat.feedback`)."""
        if self.feedback is None:
            raise NotImplementedError("feedback is not stored by this server")
        namespace = self.settings.powertools_metrics_namespace
        await record_feedback(
            self.feedback, thread_id, item_ids, feedback, context, metrics_namespace=namespace
        )

    async def transcribe(self, audio_input: AudioInput, context: RequestContext) -> TranscriptionResult:
        """Dictation through the provider's audio API (see :mod:`task_assistant.agent.transcription`)."""
        text = await self.transcriber.transcribe(audio_input.data, audio_input.mime_type)
        return TranscriptionResult(text=text)

    # --- widget actions ---------------------------------------------------------------------------

    async def action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: RequestContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        """``task.complete`` from a widget stored before sync actions: the redrawn widget as an event."""
        try:
            updated = await complete_from_widget(
                self.tasks, self._item_updater(), thread.id, action, sender, context
            )
        except WidgetActionError as exc:
            raise CustomStreamError(exc.message, allow_retry=False) from exc
        if updated is not None:
            yield ThreadItemReplacedEvent(item=updated)

    async def sync_action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: RequestContext,
    ) -> SyncCustomActionResponse:
        """``task.complete`` (the Complete button): complete the task, answer the redrawn widget."""
        updated = await complete_from_widget(
            self.tasks, self._item_updater(), thread.id, action, sender, context
        )
        return SyncCustomActionResponse(updated_item=updated)

    def _item_updater(self) -> ItemUpdater:
        if not isinstance(self.store, ItemUpdater):
            raise NotImplementedError("widget actions need a store with update_item (DynamoDBStore)")
        return self.store

"""Wires the ChatKit server for the application: stores, attachments, tasks, MCP tools and the model.

The web layer calls :func:`build_chatkit_server` once per process, on the first chat request. The
heavy modules (``agents``, ``openai``, ``mcp``, ``chatkit``) are imported inside it, so importing this
module, and serving ``/health``, stays light.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from task_assistant.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from task_assistant.chat.server import TaskChatKitServer


def build_chatkit_server(
    settings: Settings,
    *,
    dynamodb: DynamoDBClient | None = None,
    s3: S3Client | None = None,
    secrets_client: Any = None,
) -> TaskChatKitServer:
    """The application's ChatKit server for ``settings``; build once, reuse for every request.

    No network I/O happens here: the model (and an OpenAI key kept in Secrets Manager) is resolved on
    the first turn. The store and the task service share one DynamoDB client (one connection pool);
    ``dynamodb``, ``s3`` and ``secrets_client`` replace the clients built from ``settings`` (tests,
    benchmarks, custom endpoints). Logs which model answers ("offline model ..." without a key).
    """
    from task_assistant.agent.models import ModelFactory
    from task_assistant.chat.attachments import S3AttachmentStore
    from task_assistant.chat.effects import ToolEffectsTable
    from task_assistant.chat.server import TaskChatKitServer
    from task_assistant.chat.store import DynamoDBStore
    from task_assistant.chat.store.feedback import FeedbackStore
    from task_assistant.log import logger
    from task_assistant.storage.clients import dynamodb_client, s3_client
    from task_assistant.tasks.mcp_bridge import open_task_tools
    from task_assistant.tasks.mcp_server import TaskToolsServer
    from task_assistant.tasks.service import TaskService

    ddb = dynamodb if dynamodb is not None else dynamodb_client(settings)
    s3c = s3 if s3 is not None else s3_client(settings)
    store = DynamoDBStore(settings, dynamodb=ddb, s3=s3c)
    attachments = S3AttachmentStore(settings, store, s3=s3c)
    tasks = TaskService(settings, dynamodb=ddb)
    tools_server = TaskToolsServer(tasks)
    models = ModelFactory(settings, secrets_client=secrets_client)
    logger.info(f"Chat model: {models.describe()}", extra={"model_kind": models.choice.kind})
    return TaskChatKitServer(
        store,
        attachments,
        tasks=tasks,
        task_tools=partial(open_task_tools, tools_server),
        models=models,
        settings=settings,
        tool_effects=ToolEffectsTable(ddb, settings.chat_table_name, item_ttl_days=settings.item_ttl_days),
        feedback=FeedbackStore(store.rows, page_size_cap=settings.page_size_cap),
    )

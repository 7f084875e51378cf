"""Store fixtures: a DynamoDBStore on fresh embedded tables, two users, and a request recorder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from support.store import EventHooks, RequestLog
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, s3_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@pytest.fixture(scope="session")
def shared_settings(embedded_aws: EmbeddedAWS) -> Settings:
    return embedded_aws.create_resources("store")


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    """One table namespace for all store tests (creating tables per test costs ~1 s on a busy machine).

    Tests stay independent because every test gets fresh user ids (``alice``, ``bob``), and every key
    in the chat table and the bucket is scoped by user.
    """
    return shared_settings


@pytest.fixture(scope="session")
def clients(shared_settings: Settings) -> tuple[DynamoDBClient, S3Client]:
    # Building a boto3 client loads its service model (~0.5 s on a busy machine): build them once.
    return dynamodb_client(shared_settings), s3_client(shared_settings)


@pytest.fixture
def events(clients: tuple[DynamoDBClient, S3Client]) -> Iterator[EventHooks]:
    hooks = EventHooks(clients[0])
    yield hooks
    hooks.remove_all()


@pytest.fixture
def store(settings: Settings, clients: tuple[DynamoDBClient, S3Client]) -> DynamoDBStore:
    return DynamoDBStore(settings, dynamodb=clients[0], s3=clients[1])


@pytest.fixture
def ddb_log(events: EventHooks) -> RequestLog:
    """Every DynamoDB call this test's store makes; the teardown checks that none was a Scan."""
    log = RequestLog()
    events.register("before-parameter-build.dynamodb.*", log)
    return log


@pytest.fixture
def attachment_store(settings: Settings, store: DynamoDBStore) -> S3AttachmentStore:
    return S3AttachmentStore(settings, store, s3=store.s3)


@pytest.fixture
def alice() -> RequestContext:
    return RequestContext(user_id=f"alice-{uuid.uuid4()}", request_id="req-a")


@pytest.fixture
def bob() -> RequestContext:
    return RequestContext(user_id=f"bob-{uuid.uuid4()}", request_id="req-b")

"""boto3 clients built from settings: one configuration for AWS, moto or any compatible endpoint.

The application uses plain (synchronous, thread-safe) boto3 clients and calls them from async code
through :func:`run_sync`, which runs them on a worker thread. This keeps the event loop free while
avoiding aiobotocore, whose pinned botocore would fight the boto3 that Lambda and CDK want.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import anyio.to_thread
import boto3
from botocore.config import Config

from task_assistant.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

P = ParamSpec("P")
R = TypeVar("R")

_CLIENT_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,
)


#: Every client built here (weakly held): :func:`renew_clients` reaches them all.
_built_clients: weakref.WeakSet[Any] = weakref.WeakSet()


def _client(service: str, settings: Settings, endpoint_url: str | None) -> Any:
    return _tracked(
        boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            region_name=settings.aws_region,
            endpoint_url=endpoint_url,
            config=_CLIENT_CONFIG,
        )
    )


def _tracked(client: Any) -> Any:
    _built_clients.add(client)
    return client


def renew_clients() -> int:
    """Close the pooled connections of every client built here; return how many clients there are.

    For SnapStart: a socket kept in a snapshot is dead after a restore, or worse, shared by every
    restored copy. The clients stay usable: the next call opens a new connection. They are not rebuilt
    (building one costs ~0.2 s); their credentials come from Lambda's refreshable provider.
    """
    clients = list(_built_clients)
    for client in clients:
        client.close()
    return len(clients)


def dynamodb_client(settings: Settings) -> DynamoDBClient:
    """A DynamoDB client for ``settings.dynamodb_endpoint_url`` (AWS when unset)."""
    client: DynamoDBClient = _client("dynamodb", settings, settings.dynamodb_endpoint_url)
    return client


def s3_client(settings: Settings) -> S3Client:
    """An S3 client for ``settings.s3_endpoint_url`` (AWS when unset), path-style for local endpoints."""
    config = _CLIENT_CONFIG
    if settings.s3_endpoint_url:
        config = config.merge(Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    client: S3Client = _tracked(
        boto3.session.Session().client(
            "s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url, config=config
        )
    )
    return client


async def run_sync(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking boto3 call on a worker thread so the event loop never waits on I/O."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))

"""boto3 clients built from settings: one configuration for AWS, moto or any compatible endpoint.

The application uses plain (synchronous, thread-safe) boto3 clients and calls them from async code
through :func:`run_sync`, which runs them on a worker thread. This keeps the event loop free while
avoiding aiobotocore, whose pinned botocore would fight the boto3 that Lambda and CDK want.

Time budget of one call (see docs/design.md, "Time budgets"). Every client gets
:func:`aws_client_config`: ``AWS_CONNECT_TIMEOUT_SECONDS`` (1 s), ``AWS_READ_TIMEOUT_SECONDS`` (2 s) and
botocore's ``standard`` retry mode with ``AWS_MAX_ATTEMPTS`` (3) attempts in total. DynamoDB answers in
milliseconds in-region, so 1 s to connect (TCP and TLS) and 2 s of silence on an open connection are
already two orders of magnitude past normal; the old 3 s / 10 s with 6 attempts let one stalled call hold
a request for a minute. ``standard`` (not ``legacy``) retries throttling and transient errors with jittered
exponential backoff (throttling: up to 1 s, then 2 s; other errors: tens of ms) and has a retry quota that
stops retrying when most calls fail, which is what an outage needs. ``adaptive`` adds a client-side rate
limiter that *sleeps in the caller* before sending once it has seen throttling; in a Lambda sandbox that
serves one request at a time it learns from few calls and spends the user's budget waiting, so it is not
used. Worst case of one call: attempts x (connect + read) + backoff, about 9 s with the defaults and a
stalled endpoint (3 x 2 s + < 0.1 s), about 3 s when every attempt is throttled.

Those timeouts are also what bounds the work a request leaves behind: :func:`run_sync` lets an awaiting
request give up (its deadline, see :mod:`task_assistant.web.deadline`) while the worker thread runs on
until botocore's own timeouts end the call.
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

_MAX_POOL_CONNECTIONS = 32


def aws_client_config(settings: Settings) -> Config:
    """Timeouts and retries every AWS client of the app uses (DynamoDB, S3, Secrets Manager)."""
    return Config(
        region_name=settings.aws_region,
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        retries={"total_max_attempts": settings.aws_max_attempts, "mode": "standard"},
        max_pool_connections=_MAX_POOL_CONNECTIONS,
    )


def one_shot_config(settings: Settings, *, timeout_seconds: float) -> Config:
    """A single attempt bounded by ``timeout_seconds`` to connect and to read: for calls with a budget of
    their own that a retry could never fit in (the rate-limit counter)."""
    return aws_client_config(settings).merge(
        Config(
            connect_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
    )


#: Every client built here (weakly held): :func:`renew_clients` reaches them all.
_built_clients: weakref.WeakSet[Any] = weakref.WeakSet()


def _client(service: str, settings: Settings, endpoint_url: str | None, config: Config) -> Any:
    return _tracked(
        boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            region_name=settings.aws_region,
            endpoint_url=endpoint_url,
            config=config,
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


def dynamodb_client(settings: Settings, *, config: Config | None = None) -> DynamoDBClient:
    """A DynamoDB client for ``settings.dynamodb_endpoint_url`` (AWS when unset).

    ``config`` replaces :func:`aws_client_config` (e.g. :func:`one_shot_config`).
    """
    client: DynamoDBClient = _client(
        "dynamodb", settings, settings.dynamodb_endpoint_url, config or aws_client_config(settings)
    )
    return client


def s3_client(settings: Settings) -> S3Client:
    """An S3 client for ``settings.s3_endpoint_url`` (AWS when unset), path-style for local endpoints."""
    config = aws_client_config(settings)
    if settings.s3_endpoint_url:
        config = config.merge(Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    client: S3Client = _client("s3", settings, settings.s3_endpoint_url, config)
    return client


async def run_sync(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking boto3 call on a worker thread so the event loop never waits on I/O.

    If the awaiting task is cancelled (a request deadline, a client that went away) it stops waiting at
    once; the call itself runs on to its end on the worker thread, bounded by the client's connect and
    read timeouts and retry limit (:func:`aws_client_config`), and its outcome is dropped.
    """
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), abandon_on_cancel=True)

"""Embedded AWS-compatible DynamoDB and S3 on a loopback port (moto's server), for tests and local mode.

>>> with EmbeddedAWS() as aws:
...     settings = aws.settings()          # endpoints and names pointing at the embedded services

Tables come from :mod:`task_assistant.storage.tables`, the same specs the CDK stack deploys.
"""

from __future__ import annotations

import logging
import os
import socket
from types import TracebackType
from typing import Any

from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, s3_client
from task_assistant.storage.tables import CHAT_TABLE, TASKS_TABLE, TableSpec

LOCAL_REGION = "us-east-1"
#: Budgets for the embedded services (see EmbeddedAWS.settings); the deployed defaults are in Settings.
LOCAL_AWS_READ_TIMEOUT_SECONDS = 15.0
LOCAL_RATE_LIMIT_TIMEOUT_SECONDS = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _ensure_dummy_credentials() -> None:
    # moto accepts any credentials; boto3 refuses to sign without some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)


class EmbeddedAWS:
    """moto's threaded server on ``127.0.0.1:<port>`` with the project's tables and bucket created.

    ``prefix`` namespaces table and bucket names so several test suites can share one server.
    """

    def __init__(self, port: int | None = None, prefix: str = "local") -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.prefix = prefix
        self._server: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self, prefix: str | None = None, **overrides: Any) -> Settings:
        """Settings whose storage points at this server (``prefix`` selects a namespace)."""
        p = prefix or self.prefix
        values: dict[str, Any] = {
            "aws_region": LOCAL_REGION,
            "dynamodb_endpoint_url": self.endpoint_url,
            "s3_endpoint_url": self.endpoint_url,
            "chat_table_name": f"{p}-chat",
            "tasks_table_name": f"{p}-tasks",
            "attachments_bucket": f"{p}-attachments",
            # moto answers in this very process, in Python, behind the app's own work for the GIL: under
            # load (tests on a busy machine, 50 concurrent chats) one request can take seconds, where
            # DynamoDB takes milliseconds. Budgets sized for DynamoDB would turn that into failures.
            "aws_read_timeout_seconds": LOCAL_AWS_READ_TIMEOUT_SECONDS,
            "rate_limit_timeout_seconds": LOCAL_RATE_LIMIT_TIMEOUT_SECONDS,
        }
        values.update(overrides)
        return Settings(**values)

    def start(self) -> EmbeddedAWS:
        from moto.server import ThreadedMotoServer

        _ensure_dummy_credentials()
        # moto's werkzeug server logs every request; keep test and dev output readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.create_resources(self.prefix)
        return self

    def create_resources(self, prefix: str) -> Settings:
        """Create the chat and tasks tables and the attachments bucket under ``prefix`` (idempotent)."""
        settings = self.settings(prefix)
        create_tables(settings)
        s3 = s3_client(settings)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if settings.attachments_bucket not in existing:
            s3.create_bucket(Bucket=settings.attachments_bucket)
        return settings

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def create_tables(settings: Settings) -> None:
    """Create both tables at ``settings``' DynamoDB endpoint if missing, with TTL enabled."""
    ddb = dynamodb_client(settings)
    existing = set(ddb.list_tables()["TableNames"])
    specs: list[tuple[TableSpec, str]] = [
        (CHAT_TABLE, settings.chat_table_name),
        (TASKS_TABLE, settings.tasks_table_name),
    ]
    for spec, name in specs:
        if name in existing:
            continue
        ddb.create_table(**spec.create_table_kwargs(name))
        if spec.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )

"""The time budget of AWS calls (timeouts, retries) and which AWS errors mean "retry later"."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from task_assistant.agent.models import model_timeout
from task_assistant.settings import Settings
from task_assistant.storage.clients import aws_client_config, dynamodb_client, one_shot_config
from task_assistant.storage.failures import dependency_failure

# The standard retry mode's backoff for throttling before the 2nd and 3rd attempt is at most 1 s and 2 s.
_THROTTLING_BACKOFF_MAX = 1 + 2


def _options(config: Config) -> dict[str, Any]:
    # botocore sets a Config's options as instance attributes at run time; its stubs do not declare them.
    names = ("connect_timeout", "read_timeout", "retries", "region_name")
    return {name: getattr(config, name) for name in names}


def _client_error(code: str, status: int) -> ClientError:
    response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Query")  # type: ignore[arg-type]


def test_aws_calls_are_bounded_well_inside_the_request_deadline() -> None:
    settings = Settings()
    config = _options(aws_client_config(settings))
    assert (config["connect_timeout"], config["read_timeout"]) == (1.0, 2.0)
    assert config["retries"] == {"total_max_attempts": 3, "mode": "standard"}
    worst = config["retries"]["total_max_attempts"] * (config["connect_timeout"] + config["read_timeout"])
    assert worst + _THROTTLING_BACKOFF_MAX < settings.request_deadline_seconds < 29  # API Gateway's limit
    assert settings.stream_deadline_seconds < 300  # the streaming function's default timeout


def test_timeouts_and_attempts_come_from_settings() -> None:
    settings = Settings(aws_connect_timeout_seconds=0.5, aws_read_timeout_seconds=4, aws_max_attempts=5)
    config = _options(aws_client_config(settings))
    assert config == {
        "connect_timeout": 0.5,
        "read_timeout": 4,
        "retries": {"total_max_attempts": 5, "mode": "standard"},
        "region_name": settings.aws_region,
    }
    single = _options(one_shot_config(settings, timeout_seconds=1.0))
    assert (single["connect_timeout"], single["read_timeout"]) == (1.0, 1.0)
    assert single["retries"] == {"total_max_attempts": 1, "mode": "standard"}
    # What the clients are built with.
    assert _options(dynamodb_client(settings).meta.config)["read_timeout"] == 4


def test_the_model_client_waits_at_most_model_timeout_and_five_seconds_to_connect() -> None:
    timeout = model_timeout(Settings())
    assert (timeout.read, timeout.write, timeout.pool, timeout.connect) == (60.0, 60.0, 60.0, 5.0)
    assert model_timeout(Settings(model_timeout_seconds=2)).connect == 2.0


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("RequestLimitExceeded", 400),
        ("SlowDown", 503),
    ],
)
def test_throttling_is_a_throttled_dependency(code: str, status: int) -> None:
    failure = dependency_failure(_client_error(code, status))
    assert failure is not None and failure.kind == "throttled" and failure.error_type == code
    assert failure.retry_after_seconds == 2


@pytest.mark.parametrize(
    "error",
    [
        _client_error("InternalServerError", 500),
        _client_error("ServiceUnavailable", 503),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectionClosedError(endpoint_url="https://dynamodb"),
    ],
)
def test_timeouts_refusals_and_5xx_are_an_unavailable_dependency(error: Exception) -> None:
    failure = dependency_failure(error)
    assert failure is not None and failure.kind == "unavailable" and failure.retry_after_seconds == 5


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ValidationException", 400),
        _client_error("AccessDeniedException", 400),
        _client_error("ConditionalCheckFailedException", 400),
        NoCredentialsError(),
        ValueError("a bug"),
    ],
)
def test_our_own_mistakes_are_not_dependency_failures(error: Exception) -> None:
    assert dependency_failure(error) is None


def test_a_failure_is_found_through_explicit_chaining_and_exception_groups() -> None:
    cause = ReadTimeoutError(endpoint_url="https://dynamodb")
    try:
        raise RuntimeError("wrapped") from cause
    except RuntimeError as wrapped:
        assert dependency_failure(wrapped) is not None
    group = ExceptionGroup("task group", [ValueError("other"), _client_error("ThrottlingException", 400)])
    found = dependency_failure(group)
    assert found is not None and found.kind == "throttled"
    implicit = ValueError("raised while handling, not from")
    implicit.__context__ = cause
    assert dependency_failure(implicit) is None

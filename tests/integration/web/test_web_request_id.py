"""The request id over real uvicorn: a client-supplied ``x-amzn-lambda-context`` cannot break or forge it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.web import serve
from task_assistant.settings import Settings
from task_assistant.web.app import create_app

_GENERATED = re.compile(r"[0-9a-f]{32}")
_ACCEPTED = re.compile(r"[A-Za-z0-9-]{1,64}")


@pytest.fixture(scope="module")
def health_url() -> Iterator[str]:
    # /health touches no AWS service, so default settings are enough.
    with serve(create_app(Settings(), door="function_url")) as url:
        yield url


def _get(url: str, request_id: object) -> httpx.Response:
    header = json.dumps({"request_id": request_id, "deadline": 1})
    return httpx.get(f"{url}/health", headers={"x-amzn-lambda-context": header}, timeout=10)


@pytest.mark.parametrize(
    "request_id",
    [
        "abc\nX-Injected: 1",  # a JSON-escaped newline: once decoded it would split the response header
        "abc\r\n",
        "id with spaces",
        "",
        "x" * 65,
        "ünïcode",
        42,
        None,
    ],
)
def test_unacceptable_lambda_context_ids_are_replaced(health_url: str, request_id: object) -> None:
    response = _get(health_url, request_id)
    assert response.status_code == 200
    assert _GENERATED.fullmatch(response.headers["x-request-id"])
    assert "x-injected" not in response.headers


def test_well_formed_lambda_context_id_is_used(health_url: str) -> None:
    response = _get(health_url, "8d5c6f3e-1b2a-4c3d-9e8f-0a1b2c3d4e5f")
    assert response.headers["x-request-id"] == "8d5c6f3e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_id=st.text(max_size=80))
def test_any_lambda_context_id_gives_a_well_formed_answer(health_url: str, request_id: str) -> None:
    response = _get(health_url, request_id)
    assert response.status_code == 200
    echoed = response.headers["x-request-id"]
    if _ACCEPTED.fullmatch(request_id):
        assert echoed == request_id
    else:
        assert _GENERATED.fullmatch(echoed)

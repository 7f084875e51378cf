"""Fuzzing over real HTTP: ChatKit bodies generated from chatkit's own request types (Hypothesis) and
``/tasks`` requests generated from the app's OpenAPI schema (Schemathesis). No 5xx, ever; every error is
the JSON error contract; no stream hides a fault of ours as a bare ``stream.error``.

A small count here; ``bench/reliability_bench.py`` runs over 10,000 cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.chatkit_fuzz import chatkit_bodies, contract_problem, send_chatkit
from support.fuzz_runs import known_ids, tasks_cases
from support.web import chatkit_factory, serve
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, JWKSServer, LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services

CHATKIT_CASES = 150
TASKS_CASES = 150


@pytest.fixture(scope="module")
def fuzz_url(embedded_aws: EmbeddedAWS, jwks_server: JWKSServer) -> Iterator[str]:
    settings: Settings = embedded_aws.create_resources("fuzz-reliability").model_copy(
        update={
            "jwt_issuer": LOCAL_ISSUER,
            "jwks_url": jwks_server.url,
            "jwt_client_ids": [LOCAL_CLIENT_ID],
            "rate_limit_per_minute": 0,
        }
    )
    app = create_app(
        settings, door="function_url", services=Services(settings, chatkit_factory=chatkit_factory())
    )
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def owned_ids(fuzz_url: str, issuer: LocalIssuer) -> list[str]:
    """Ids of the fuzzing user's own thread, items and task, so generated requests reach the store."""
    return known_ids(fuzz_url, issuer.mint("fuzz-owner"))


@settings(max_examples=CHATKIT_CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_chatkit_bodies_generated_from_chatkit_types_never_fail_on_our_side(
    fuzz_url: str, issuer: LocalIssuer, owned_ids: list[str], data: st.DataObject
) -> None:
    body = data.draw(chatkit_bodies(st.sampled_from(owned_ids)), label="body")
    headers = {"Authorization": f"Bearer {issuer.mint('fuzz-owner')}"}
    with httpx.Client(base_url=fuzz_url, headers=headers, timeout=60) as client:
        status, events, raw = send_chatkit(client, body)
    assert contract_problem(status, events, raw) is None, (body, contract_problem(status, events, raw))


@pytest.fixture(scope="module")
def tasks_schema_cases(fuzz_url: str) -> Any:
    return tasks_cases(fuzz_url)


@settings(max_examples=TASKS_CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_tasks_requests_generated_from_the_openapi_schema_never_answer_5xx(
    fuzz_url: str, issuer: LocalIssuer, tasks_schema_cases: Any, data: st.DataObject
) -> None:
    case = data.draw(tasks_schema_cases, label="case")
    response = case.call(base_url=fuzz_url, headers={"Authorization": f"Bearer {issuer.mint('fuzz-tasks')}"})
    problem = contract_problem(response.status_code, [], response.content)
    assert problem is None, (case.operation.label, case.path_parameters, case.query, case.body, problem)
    # Schemathesis's own check for the same property, with its reproduction in the failure message.
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

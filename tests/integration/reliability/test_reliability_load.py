"""Load and faults over real HTTP: concurrent users lose, duplicate and mix up nothing, and a throttled or
failing DynamoDB ends turns with clean, retryable errors inside the budget.

CI size here (a few users x a few turns); ``bench/reliability_bench.py`` runs 50 users x 5 turns.
"""

from __future__ import annotations

from fastapi import FastAPI

from support.fault_injection import FaultProxy
from support.load_audit import audit, outcome_counts, run_load
from support.web import chatkit_factory, serve
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services

USERS, TURNS = 6, 3
NOTHING_WRONG = {"lost": 0, "duplicated": 0, "misattributed": 0, "cross_user": 0}


def _tokens(issuer: LocalIssuer, tag: str, users: int) -> dict[str, str]:
    return {f"{tag}{n:02d}": issuer.mint(f"{tag}{n:02d}") for n in range(users)}


def _app(settings: Settings) -> FastAPI:
    return create_app(
        settings, door="function_url", services=Services(settings, chatkit_factory=chatkit_factory())
    )


async def test_concurrent_users_lose_duplicate_and_mix_up_nothing(
    base_settings: Settings, issuer: LocalIssuer
) -> None:
    tokens = _tokens(issuer, "load", USERS)
    with serve(_app(base_settings)) as url:
        records = await run_load(url, tokens, TURNS)
        assert outcome_counts(records) == {"completed": USERS * TURNS, "clean_error": 0, "unclean": 0}, [
            (r.user, r.index, r.status, r.error_event, r.transport_error)
            for r in records
            if r.outcome != "completed"
        ]
        report = await audit(url, tokens, records)
    assert report.counts() == NOTHING_WRONG, report.findings
    # Each turn stores its message, what its tool did (a workflow item) and its answer.
    assert (report.threads, report.tasks, report.items) == (USERS, USERS * TURNS, 3 * USERS * TURNS)


async def test_throttling_and_an_outage_mid_run_end_turns_cleanly_inside_the_budget(
    base_settings: Settings, issuer: LocalIssuer, aws_endpoint: str
) -> None:
    tokens = _tokens(issuer, "fault", USERS)
    with FaultProxy(aws_endpoint, seed=10) as proxy:
        settings = base_settings.model_copy(
            update={
                "dynamodb_endpoint_url": proxy.url,
                "aws_read_timeout_seconds": 5.0,
                "request_deadline_seconds": 8.0,
                "stream_deadline_seconds": 15.0,
            }
        )
        with serve(_app(settings)) as url:
            proxy.throttle_rate = 0.2
            proxy.outage_after(requests=60, seconds=0.3)
            records = await run_load(url, tokens, TURNS)
            proxy.heal()
            faults = dict(proxy.counts)
            report = await audit(url, tokens, records)
    outcomes = outcome_counts(records)
    assert outcomes["unclean"] == 0, [
        (r.user, r.index, r.status, r.error_code, r.events[-1:], r.transport_error)
        for r in records
        if r.outcome == "unclean"
    ]
    assert faults["throttle"] > 0 and faults["down"] > 0, faults
    assert outcomes["clean_error"] > 0 and outcomes["completed"] > 0, outcomes
    for record in records:
        budget = (
            settings.stream_deadline_seconds if record.status == 200 else settings.request_deadline_seconds
        )
        assert record.seconds < budget + 1.0, (record.user, record.index, record.seconds)
    assert report.counts() == NOTHING_WRONG, report.findings

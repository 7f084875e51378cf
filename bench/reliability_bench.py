"""Reliability at full size: load, faults and time budgets, fuzzing. Prints the figures.

    scripts/uv run python bench/reliability_bench.py [--users 50] [--turns 5]
        [--chatkit-cases 6000] [--tasks-cases 4000] [--only load,faults,budgets,fuzz]

Everything runs in this process over real HTTP: the app under uvicorn (function-URL door, JWT verified
against a local issuer's JWKS on loopback, the per-user rate limit counted in DynamoDB) on the embedded
moto DynamoDB and S3, with the offline model. The harness is the reliability suite's
(``tests/integration/reliability``: the fault-injecting DynamoDB proxy, the stall server, the load runner
and audit, the ChatKit request generator); the suite runs the same scenarios at CI size.

1. load: ``--users`` users x ``--turns`` turns at once, one thread each; then every thread, item and task
   is read back through the API as its user: lost, duplicated, misattributed, cross-user.
2. faults: the same load with DynamoDB throttling 20 % of requests and an outage (connections dropped)
   mid-run: every turn must complete or end with a clean error (a retryable error event, or 503/429 with
   Retry-After) inside its budget, and nothing acknowledged may be lost.
3. budgets: with the deployed defaults (AWS 1 s connect / 2 s read / 3 attempts, 0.3 s rate-limit budget,
   25 s request deadline): time to a clean error when DynamoDB stalls, throttles every request, or is down;
   when the JWKS URL is down or hangs; when the model provider refuses or hangs (60 s model timeout
   lowered to 2 s here).
4. fuzz: ``--chatkit-cases`` ChatKit bodies generated from chatkit's request types (Hypothesis) and
   ``--tasks-cases`` ``/tasks`` requests from the OpenAPI schema (Schemathesis); counts 5xx and answers
   outside the error contract.

A benchmark, not a timed test: moto answers in this process, so latency under load is the emulator's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' shared helpers: the package tests/support

from pydantic import SecretStr  # noqa: E402

from support.fault_injection import FaultProxy, StallServer, closed_port_url  # noqa: E402
from support.fuzz_runs import FuzzReport, fuzz_chatkit, fuzz_tasks, known_ids  # noqa: E402
from support.load_audit import audit, outcome_counts, percentile, run_load  # noqa: E402
from support.web import (  # noqa: E402
    ChatKitCaller,
    assistant_text,
    chatkit_factory,
    serve,
    sse_events,
    user_message,
)
from task_assistant.local.embedded import EmbeddedAWS  # noqa: E402
from task_assistant.local.token_issuer import LOCAL_CLIENT_ID, LOCAL_ISSUER, LocalIssuer  # noqa: E402
from task_assistant.settings import Settings  # noqa: E402
from task_assistant.web.app import create_app  # noqa: E402
from task_assistant.web.services import Services  # noqa: E402

# The deployed defaults (Settings), not the embedded services' relaxed ones.
DEPLOYED = {
    name: Settings.model_fields[name].default
    for name in ("aws_connect_timeout_seconds", "aws_read_timeout_seconds", "rate_limit_timeout_seconds")
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def app_at(settings: Settings, **services: Any) -> Iterator[str]:
    services.setdefault("chatkit_factory", chatkit_factory())
    with serve(create_app(settings, door="function_url", services=Services(settings, **services))) as url:
        yield url


class Bench:
    def __init__(self, aws: EmbeddedAWS, issuer: LocalIssuer, jwks_url: str) -> None:
        self.aws = aws
        self.issuer = issuer
        self.jwks_url = jwks_url
        self._namespaces = 0

    def settings(self, **overrides: Any) -> Settings:
        self._namespaces += 1
        fresh = self.aws.create_resources(f"relbench{self._namespaces}")
        trusted = {
            "jwt_issuer": LOCAL_ISSUER,
            "jwks_url": self.jwks_url,
            "jwt_client_ids": [LOCAL_CLIENT_ID],
            "rate_limit_per_minute": 100_000,
        }
        return fresh.model_copy(update={**trusted, **overrides})

    def tokens(self, tag: str, users: int) -> dict[str, str]:
        return {f"{tag}{n:03d}": self.issuer.mint(f"{tag}{n:03d}") for n in range(users)}

    # --- same thread ------------------------------------------------------------------------------

    def same_thread(self, threads: int, messages: int) -> dict[str, int]:
        """``messages`` concurrent "add kiwi…" messages into each of ``threads`` threads (two tabs, taken
        further): how many replies answer their own message, and what the thread and the list hold after."""
        token = self.issuer.mint("samethread")
        counts = {"sent": 0, "own": 0, "other": 0, "5xx": 0, "tasks": 0, "expected": 0, "dup_items": 0}
        with app_at(self.settings()) as url:
            caller = ChatKitCaller(url, token)
            for t in range(threads):
                thread_id, _ = caller.new_thread("hello")
                titles = [f"kiwi{t:02d}x{n:02d}" for n in range(messages)]

                def send(title: str, thread_id: str = thread_id) -> tuple[str, int, str]:
                    one = ChatKitCaller(url, token)
                    try:
                        params = {"thread_id": thread_id, "input": user_message(f"add {title}")}
                        response = one.post("threads.add_user_message", params)
                        events = list(sse_events(response)) if response.status_code == 200 else []
                        return title, response.status_code, assistant_text(events)
                    finally:
                        one.close()

                with ThreadPoolExecutor(messages) as pool:
                    for title, status, reply in pool.map(send, titles):
                        counts["sent"] += 1
                        counts["5xx"] += status >= 500
                        mine = title in reply and not any(o in reply for o in titles if o != title)
                        counts["own" if mine else "other"] += 1
                ids = [item["id"] for item in caller.items(thread_id)]
                counts["dup_items"] += len(ids) - len(set(ids))
                counts["expected"] += len(titles)
            listed = caller.client.get("/tasks", params={"limit": 100}).json()["tasks"]
            counts["tasks"] = len({t["title"] for t in listed if t["title"].startswith("kiwi")})
            caller.close()
        return counts

    # --- 1 and 2 ----------------------------------------------------------------------------------

    def load(self, users: int, turns: int, *, throttle: float = 0.0, outage: bool = False) -> dict[str, Any]:
        tokens = self.tokens(f"t{int(throttle * 100)}{'o' if outage else ''}x", users)
        with FaultProxy(self.aws.endpoint_url, seed=20) as proxy:
            settings = self.settings(dynamodb_endpoint_url=proxy.url)
            with app_at(settings) as url:
                proxy.throttle_rate = throttle
                if outage:
                    # Down for 1 s a third of the way through (about 8 DynamoDB requests per turn).
                    proxy.outage_after(requests=users * turns * 8 // 3, seconds=1.0)
                started = time.monotonic()
                records = asyncio.run(run_load(url, tokens, turns))
                wall = time.monotonic() - started
                proxy.heal()
                faults_seen = dict(proxy.counts)
                report = asyncio.run(audit(url, tokens, records))
        durations = [r.seconds for r in records]
        errors = [r for r in records if r.outcome == "clean_error"]
        return {
            "turns": len(records),
            "outcomes": outcome_counts(records),
            "audit": report.counts(),
            "checked": (report.threads, report.items, report.tasks),
            "faults": faults_seen,
            "p50": percentile(durations, 0.5),
            "p99": percentile(durations, 0.99),
            "max": max(durations),
            "max_error": max((r.seconds for r in errors), default=0.0),
            "error_kinds": dict(Counter(_error_kind(r) for r in errors)),
            "wall": wall,
        }

    # --- 3 -----------------------------------------------------------------------------------------

    def budgets(self) -> list[tuple[str, str, str, float]]:
        rows: list[tuple[str, str, str, float]] = []
        deployed = self.settings(**DEPLOYED, rate_limit_per_minute=60)
        with StallServer() as stall:
            stalled = deployed.model_copy(update={"dynamodb_endpoint_url": stall.url})
            with app_at(stalled) as url:
                rows.append(("DynamoDB stalls", "GET /tasks", *self._timed_get(url)))
                rows.append(("DynamoDB stalls", "threads.create (stream)", *self._timed_turn(url, None)))
        with FaultProxy(self.aws.endpoint_url) as proxy:
            settings = deployed.model_copy(update={"dynamodb_endpoint_url": proxy.url})
            with app_at(settings) as url:
                thread = self._thread(url)
                proxy.mode = "stall"
                proxy.stall_seconds = 10.0
                rows.append(("DynamoDB stalls", "threads.add_user_message", *self._timed_turn(url, thread)))
                proxy.mode = "pass"
                proxy.throttle_rate = 1.0
                rows.append(("DynamoDB throttles every call", "GET /tasks", *self._timed_get(url)))
                rows.append(("DynamoDB throttles every call", "threads.create", *self._timed_turn(url, None)))
                proxy.throttle_rate = 0.0
                proxy.mode = "down"
                rows.append(("DynamoDB drops connections", "GET /tasks", *self._timed_get(url)))
        down = deployed.model_copy(update={"dynamodb_endpoint_url": closed_port_url()})
        with app_at(down) as url:
            rows.append(("DynamoDB refuses connections", "GET /tasks", *self._timed_get(url)))
        rows += self._auth_and_model(deployed)
        return rows

    def _auth_and_model(self, deployed: Settings) -> list[tuple[str, str, str, float]]:
        rows: list[tuple[str, str, str, float]] = []
        with StallServer() as stall:
            for label, jwks in (("JWKS refuses connections", closed_port_url()), ("JWKS hangs", stall.url)):
                with app_at(deployed.model_copy(update={"jwks_url": jwks})) as url:
                    # The first call waits for the fetch; later ones, inside the backoff, answer at once.
                    rows.append((label, "GET /tasks, first call", *self._timed_get(url, calls=1)))
                    rows.append((label, "GET /tasks, next call", *self._timed_get(url, calls=1)))
            for label, base in (
                ("model provider refuses", closed_port_url()),
                ("model provider hangs", stall.url),
            ):
                model = {"openai_api_key": SecretStr("sk-bench"), "openai_base_url": f"{base}/v1"}
                settings = deployed.model_copy(update={**model, "model_timeout_seconds": 2.0})
                with app_at(settings) as url:
                    rows.append((label, "threads.create (2 s model timeout)", *self._timed_turn(url, None)))
        return rows

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.mint('budget')}"}

    def _thread(self, url: str) -> str:
        chat = ChatKitCaller(url, self.issuer.mint("budget"))
        thread, _ = chat.new_thread("hello")
        chat.close()
        return str(thread)

    def _timed_get(self, url: str, *, calls: int = 2) -> tuple[str, float]:
        """The last of ``calls`` calls: the first also builds the service and its clients (a cold start)."""
        for _ in range(calls):
            started = time.monotonic()
            response = httpx.get(f"{url}/tasks", headers=self._headers(), timeout=300)
            elapsed = time.monotonic() - started
        retry = response.headers.get("retry-after")
        return f"{response.status_code} {response.json()['error']['code']}, Retry-After {retry}", elapsed

    def _timed_turn(self, url: str, thread: str | None) -> tuple[str, float]:
        # Built before timing (as on a warm instance): building the ChatKit server takes seconds.
        warm = {"type": "threads.list", "params": {}}
        httpx.post(f"{url}/chatkit", json=warm, headers=self._headers(), timeout=300)
        params: dict[str, Any] = {"input": user_message("hello")}
        kind = "threads.create" if thread is None else "threads.add_user_message"
        if thread is not None:
            params["thread_id"] = thread
        started = time.monotonic()
        with httpx.stream(
            "POST",
            f"{url}/chatkit",
            json={"type": kind, "params": params},
            headers=self._headers(),
            timeout=300,
        ) as response:
            raw = response.read()
        elapsed = time.monotonic() - started
        if response.status_code != 200:
            return f"{response.status_code}, Retry-After {response.headers.get('retry-after')}", elapsed
        last_error = raw.decode().rsplit('"type":"error"', 1)
        if len(last_error) < 2:
            return "200, no error event", elapsed
        retry = '"allow_retry":true' in last_error[1]
        code = "custom" if '"code":"custom"' in last_error[1] else "stream.error"
        return f"200, error event ({code}, allow_retry {str(retry).lower()})", elapsed

    # --- 4 -----------------------------------------------------------------------------------------

    def fuzz(self, chatkit_cases: int, tasks_cases: int) -> dict[str, FuzzReport]:
        owner = self.issuer.mint("fuzz-owner")
        with app_at(self.settings(rate_limit_per_minute=0)) as url:
            chatkit = fuzz_chatkit(url, owner, known_ids(url, owner), chatkit_cases)
            log(f"  chatkit fuzz: {chatkit.cases} cases")
            tasks = fuzz_tasks(url, self.issuer.mint("fuzz-tasks"), tasks_cases)
        return {"chatkit": chatkit, "tasks": tasks}


def _error_kind(record: Any) -> str:
    if record.status != 200:
        return f"{record.status} {record.error_code}"
    error = record.error_event or {}
    return f"error event {error.get('code')}"


def print_load(title: str, row: dict[str, Any]) -> None:
    o, a = row["outcomes"], row["audit"]
    threads, items, tasks = row["checked"]
    print(f"\n### {title}\n")
    print("| turns | completed | clean error | unclean | lost | duplicated | misattributed | cross-user |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {row['turns']} | {o['completed']} | {o['clean_error']} | {o['unclean']} | {a['lost']} | "
        f"{a['duplicated']} | {a['misattributed']} | {a['cross_user']} |"
    )
    print(
        f"\nChecked through the API: {threads} threads, {items} items, {tasks} tasks. Turn time p50 "
        f"{row['p50']:.2f} s, p99 {row['p99']:.2f} s, max {row['max']:.2f} s; wall {row['wall']:.1f} s."
    )
    if row["faults"].keys() - {"pass"}:
        print(
            f"DynamoDB requests by fault: {row['faults']}; clean errors: {row['error_kinds']}, slowest "
            f"{row['max_error']:.2f} s."
        )


def print_same_thread(threads: int, row: dict[str, int]) -> None:
    print(f"\n### Same thread: {threads} threads x 8 concurrent messages each\n")
    header = ("messages", "answered their own", "answered another's", "5xx", "distinct tasks", "expected")
    print("| " + " | ".join((*header, "duplicated items")) + " |")
    print("|" + "---:|" * (len(header) + 1))
    keys = ("sent", "own", "other", "5xx", "tasks", "expected", "dup_items")
    print("| " + " | ".join(str(row[k]) for k in keys) + " |")


def print_fuzz(results: dict[str, FuzzReport]) -> None:
    print("\n### Fuzzing\n")
    print("| target | cases | 5xx | outside the contract | statuses | seconds |")
    print("|---|---:|---:|---:|---|---:|")
    labels = {
        "chatkit": "/chatkit bodies from chatkit's types (Hypothesis)",
        "tasks": "/tasks from OpenAPI (Schemathesis)",
    }
    for key, report in results.items():
        fives = sum(n for s, n in report.statuses.items() if s >= 500)
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses.items()))
        print(
            f"| {labels[key]} | {report.cases} | {fives} | {len(report.problems)} | {shown} | "
            f"{report.seconds:.0f} |"
        )
        for problem in report.problems[:5]:
            print(f"  - {problem[:300]}")


def run(bench: Bench, args: argparse.Namespace, only: set[str]) -> None:
    users, turns = args.users, args.turns
    if "load" in only:
        log("load...")
        print_load(f"Load: {users} users x {turns} turns at once", bench.load(users, turns))
    if "faults" in only:
        log("faults...")
        print_load(
            "Faults: the same load, DynamoDB throttling 20 % of requests",
            bench.load(users, turns, throttle=0.2),
        )
        print_load(
            "Faults: the same load, DynamoDB throttling 20 % of requests and down for 1 s mid-run",
            bench.load(users, turns, throttle=0.2, outage=True),
        )
    if "same-thread" in only:
        log("same thread...")
        print_same_thread(args.same_thread_threads, bench.same_thread(args.same_thread_threads, 8))
    if "budgets" in only:
        log("budgets...")
        print_budgets(bench.budgets())
    if "fuzz" in only:
        log("fuzz...")
        print_fuzz(bench.fuzz(args.chatkit_cases, args.tasks_cases))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--chatkit-cases", type=int, default=6000)
    parser.add_argument("--tasks-cases", type=int, default=4000)
    parser.add_argument("--same-thread-threads", type=int, default=5)
    parser.add_argument("--only", default="load,same-thread,faults,budgets,fuzz")
    args = parser.parse_args()
    only = set(args.only.split(","))
    logging.disable(logging.CRITICAL)  # the app logs every injected fault; the figures are the output
    issuer = LocalIssuer.generate()
    jwks = issuer.serve_jwks()
    try:
        with EmbeddedAWS(prefix="relbench") as aws:
            run(Bench(aws, issuer, jwks.url), args, only)
    finally:
        jwks.stop()
    return 0


def print_budgets(rows: list[tuple[str, str, str, float]]) -> None:
    print("\n### Time budgets (deployed defaults, warm instance)\n")
    print("| dependency | request | answer | seconds |")
    print("|---|---|---|---:|")
    for dependency, request, answer, seconds in rows:
        print(f"| {dependency} | {request} | {answer} | {seconds:.2f} |")


if __name__ == "__main__":
    raise SystemExit(main())

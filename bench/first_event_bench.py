"""Time to first event and to end of turn with a fixed latency per storage call, next to an in-memory store.

    scripts/uv run python bench/first_event_bench.py [--chats 10] [--latency-ms 10]

Two server processes run the real app under uvicorn on loopback (function-URL door: JWT verification,
per-user rate limit, the request gate, the ChatKit server, the offline model, which answers instantly):

- ``memory``: the ChatKit store is an in-memory ``Store`` (bench/memory_store.py) and the rate limit is
  off: no storage round trip at all; the floor every other row is compared with;
- ``dynamodb``: the DynamoDB store and the rate-limit counter on the embedded DynamoDB (moto), measured
  twice per round: as is, and with ``--latency-ms`` added to every DynamoDB request (a ``before-send``
  hook sleeps on the worker thread making the call), the time an in-region DynamoDB call takes.

Each chat is one ``threads.create`` and ``--follow-ups`` ``threads.add_user_message`` turns ("hello": no
tool call); configurations alternate turn by turn so machine load hits them alike. The client (this
process) times the first SSE byte (the first event) and the end of the stream; the server records each
DynamoDB call, so the table also shows how many calls ran before the first event and in how many
sequential waves (calls that overlap in time count once: the round trips the first event waited for).

Target (issue 13): first event <= in-memory + 2 x latency + 5 ms, where a call's latency is the
injected one plus the emulator's own time per call (printed; moto does real work in Python per request).
A benchmark that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench_server import Recorder, StorageCalls, percentile, run, spawn, waves
from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LocalIssuer

MESSAGE = "hello"  # the offline model answers in a few text deltas and calls no tool


def serve(port: int, store: str, data_dir: str) -> None:
    """Server process: embedded AWS, the local issuer's JWKS, the app with its storage observed."""
    from memory_store import MemoryStore
    from task_assistant.chat.service_factory import build_chatkit_server
    from task_assistant.local.embedded import EmbeddedAWS
    from task_assistant.storage.clients import dynamodb_client
    from task_assistant.web.app import create_app
    from task_assistant.web.rate_limits import RateLimitStore
    from task_assistant.web.services import Services

    issuer = LocalIssuer.load_or_create(data_dir)
    jwks = issuer.serve_jwks()
    with EmbeddedAWS(prefix="bench") as aws:
        settings = aws.settings(
            jwt_issuer=issuer.issuer,
            jwks_url=jwks.url,
            jwt_client_ids=[issuer.client_id],
            rate_limit_per_minute=0 if store == "memory" else 10_000,
            openai_api_key=None,
        )
        calls = StorageCalls()
        ddb = dynamodb_client(settings)
        calls.attach(ddb)
        server = build_chatkit_server(settings, dynamodb=ddb)
        if store == "memory":
            server.store = MemoryStore()
        services = Services(settings, chatkit_server=server, rate_limits=RateLimitStore(settings, client=ddb))
        run(Recorder(create_app(settings, door="function_url", services=services), calls), port)


@dataclass
class Samples:
    first: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    before_first: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    waves: list[int] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)


class Target:
    """One server and the latency it is measured at."""

    def __init__(self, name: str, url: str, latency_ms: float, token: str) -> None:
        self.name, self.url, self.latency_ms = name, url, latency_ms
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.samples = {kind: Samples() for kind in ("threads.create", "threads.add_user_message")}

    def turn(self, thread_id: str | None, record: bool) -> str:
        content = {
            "content": [{"type": "input_text", "text": MESSAGE}],
            "quoted_text": "",
            "attachments": [],
            "inference_options": {},
        }
        kind = "threads.create" if thread_id is None else "threads.add_user_message"
        params: dict[str, Any] = {"input": content}
        if thread_id is not None:
            params["thread_id"] = thread_id
        httpx.post(f"{self.url}/bench/latency", params={"ms": self.latency_ms}).raise_for_status()
        buffer = b""
        first = 0.0
        start = time.perf_counter()
        with self.client.stream("POST", "/chatkit", json={"type": kind, "params": params}) as response:
            if response.status_code != 200:
                raise RuntimeError(f"{self.name}: HTTP {response.status_code} {response.read()[:200]!r}")
            for chunk in response.iter_raw():
                first = first or time.perf_counter() - start
                buffer += chunk
        end = time.perf_counter() - start
        if b'"type":"error"' in buffer:
            raise RuntimeError(f"{self.name}: turn failed: {buffer[:500]!r}")
        if thread_id is None:
            marker = b'"thread":{"id":"'
            at = buffer.index(marker) + len(marker)
            thread_id = buffer[at : buffer.index(b'"', at)].decode()
        if record:
            self._record(kind, first, end)
        return thread_id

    def _record(self, kind: str, first: float, end: float) -> None:
        server = httpx.get(f"{self.url}/bench/last").json()
        calls = [tuple(c) for c in server["calls"]]
        s = self.samples[kind]
        s.first.append(first * 1000)
        s.end.append(end * 1000)
        s.total.append(len(calls))
        s.before_first.append(sum(1 for c in calls if c[0] < server["first_body"]))
        s.waves.append(waves(calls, server["first_body"]))
        s.call_ms += [(stop - begin) * 1000 for begin, stop, _ in calls]


@contextmanager
def servers(data_dir: str) -> Iterator[dict[str, str]]:
    script = str(Path(__file__).resolve())
    ports = {"memory": free_port(), "dynamodb": free_port()}
    processes = []
    try:
        for store, port in ports.items():
            processes.append(spawn(script, port, "--store", store, "--data-dir", data_dir))
        yield {store: f"http://127.0.0.1:{port}" for store, port in ports.items()}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def report(targets: list[Target], latency_ms: float) -> None:
    print(
        f"{'turn':<26}{'store':<20}{'first event p50':>16}{'p90':>8}{'end p50':>9}{'p90':>8}"
        f"{'calls before 1st':>18}{'waves':>7}{'calls/turn':>11}"
    )
    for kind in ("threads.create", "threads.add_user_message"):
        for t in targets:
            s = t.samples[kind]
            print(
                f"{kind:<26}{t.name:<20}{statistics.median(s.first):>16.1f}{percentile(s.first, 90):>8.1f}"
                f"{statistics.median(s.end):>9.1f}{percentile(s.end, 90):>8.1f}"
                f"{_span(s.before_first):>18}{_span(s.waves):>7}{_span(s.total):>11}"
            )
    memory, plain, slowed = targets
    emulator_ms = statistics.median(plain.samples["threads.add_user_message"].call_ms)
    print(f"\nemulator time per DynamoDB call (no latency injected), median: {emulator_ms:.1f} ms")
    for kind in ("threads.create", "threads.add_user_message"):
        floor = statistics.median(memory.samples[kind].first)
        got = statistics.median(slowed.samples[kind].first)
        per_call = latency_ms + emulator_ms
        bound = floor + 2 * per_call + 5
        verdict = "meets" if got <= bound else "MISSES"
        moved = got - statistics.median(plain.samples[kind].first)
        print(
            f"{kind}: first event {got:.1f} ms vs in-memory {floor:.1f} + 2 x ({latency_ms:g} injected "
            f"+ {emulator_ms:.1f} emulator) + 5 = {bound:.1f} ms: {verdict} the target; "
            f"+{latency_ms:g} ms per call moved it by {moved:.1f} ms"
        )


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--follow-ups", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--warm-up", type=int, default=2, help="chats not recorded")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store", choices=("memory", "dynamodb"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.store, args.data_dir)
        return 0

    data_dir = tempfile.mkdtemp(prefix="first-event-bench-")
    issuer = LocalIssuer.load_or_create(data_dir)
    with servers(data_dir) as urls:
        token = issuer.mint(f"bench-{time.monotonic_ns()}")
        targets = [
            Target("in-memory", urls["memory"], 0, token),
            Target("dynamodb (moto)", urls["dynamodb"], 0, token),
            Target(f"moto +{args.latency_ms:g} ms/call", urls["dynamodb"], args.latency_ms, token),
        ]
        for n in range(args.warm_up + args.chats):
            record = n >= args.warm_up
            threads: list[str | None] = [None] * len(targets)
            for _ in range(1 + args.follow_ups):
                for i, target in enumerate(targets):
                    threads[i] = target.turn(threads[i], record)
    print(
        f"\nfirst_event_bench: {args.chats} chats x (1 create + {args.follow_ups} follow-ups) per row, "
        f"message {MESSAGE!r}, offline model; times in ms, client side; calls = DynamoDB requests\n"
    )
    report(targets, args.latency_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

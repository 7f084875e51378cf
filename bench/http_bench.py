"""HTTP benchmark: chat turns through uvicorn on loopback, as the widget sees them.

    uv run python bench/http_bench.py [--turns 200] [--concurrency 50] [--turns-per-chat 4]

A server process runs the real app (function-URL door: JWT verification, per-user rate limit counted
in DynamoDB, the ChatKit server with the DynamoDB store and the task tools) on the embedded AWS services
(moto) with the offline model, which answers instantly, so what is measured is the stack around the
model. The client (this process) sends ``threads.create`` / ``threads.add_user_message`` requests and
reads the SSE stream with httpx, timing for each turn:

- TTFB: request sent -> first byte of the stream (the first event);
- first delta: -> the first assistant text delta;
- end: -> the end of the stream (everything saved).

Scenario 1: ``--turns`` turns one after another (chats of ``--turns-per-chat`` turns, one user each).
Scenario 2: ``--concurrency`` chats at once, each ``--turns-per-chat`` turns. Prints a table; this is
a benchmark, not a timed test. Numbers depend on the machine; moto (in the server process) stands in
for DynamoDB and S3, so storage latency is loopback HTTP plus moto's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LocalIssuer

MESSAGE = "hello"  # the offline model answers with a few text deltas and calls no tool


def serve(port: int, data_dir: str) -> None:
    """Server process: embedded AWS + local issuer JWKS + the app under uvicorn."""
    import uvicorn

    from task_assistant.local.embedded import EmbeddedAWS
    from task_assistant.web.app import create_app

    issuer = LocalIssuer.load_or_create(data_dir)
    jwks = issuer.serve_jwks()
    with EmbeddedAWS(prefix="bench") as aws:
        settings = aws.settings(
            jwt_issuer=issuer.issuer,
            jwks_url=jwks.url,
            jwt_client_ids=[issuer.client_id],
            rate_limit_per_minute=1000,
            openai_api_key=None,
        )
        app = create_app(settings, door="function_url")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@dataclass
class Turn:
    ttfb: float
    first_delta: float
    end: float


async def turn(client: httpx.AsyncClient, token: str, thread_id: str | None) -> tuple[Turn, str]:
    content: dict[str, Any] = {
        "content": [{"type": "input_text", "text": MESSAGE}],
        "quoted_text": "",
        "attachments": [],
    }
    content["inference_options"] = {}
    if thread_id is None:
        body = {"type": "threads.create", "params": {"input": content}}
    else:
        body = {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": content}}
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    ttfb = first_delta = 0.0
    buffer = b""
    async with client.stream("POST", "/chatkit", json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {(await response.aread())[:200]!r}")
        async for chunk in response.aiter_raw():
            now = time.perf_counter() - start
            if not ttfb:
                ttfb = now
            buffer += chunk
            if not first_delta and b"text_delta" in buffer:
                first_delta = now
    end = time.perf_counter() - start
    if thread_id is None:
        first = json.loads(buffer.split(b"\n\n", 1)[0][len(b"data: ") :])
        thread_id = first["thread"]["id"]
    assert thread_id is not None
    return Turn(ttfb, first_delta, end), thread_id


async def chat(client: httpx.AsyncClient, token: str, turns: int) -> list[Turn]:
    results: list[Turn] = []
    thread_id = None
    for _ in range(turns):
        measured, thread_id = await turn(client, token, thread_id)
        results.append(measured)
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000


async def scenario(url: str, issuer: LocalIssuer, chats: int, turns_per_chat: int, concurrent: bool) -> tuple:
    limits = httpx.Limits(max_connections=max(chats, 10), max_keepalive_connections=max(chats, 10))
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        tokens = [issuer.mint(f"bench-{os.getpid()}-{n}-{time.monotonic_ns()}") for n in range(chats)]
        start = time.perf_counter()
        if concurrent:
            per_chat = await asyncio.gather(*(chat(client, t, turns_per_chat) for t in tokens))
        else:
            per_chat = [await chat(client, t, turns_per_chat) for t in tokens]
        wall = time.perf_counter() - start
    turns = [t for results in per_chat for t in results]
    return turns, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--turns-per-chat", type=int, default=4)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.data_dir)
        return 0

    data_dir = tempfile.mkdtemp(prefix="http-bench-")
    issuer = LocalIssuer.load_or_create(data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--data-dir", data_dir],
        env=env,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        # Warm up: first requests build the ChatKit server, fetch the JWKS, open connections.
        asyncio.run(scenario(url, issuer, 2, 2, concurrent=False))

        rows = []
        chats = max(1, args.turns // args.turns_per_chat)
        turns, wall = asyncio.run(scenario(url, issuer, chats, args.turns_per_chat, concurrent=False))
        rows.append((f"sequential, 1 chat at a time ({chats} chats x {args.turns_per_chat})", turns, wall))
        turns, wall = asyncio.run(
            scenario(url, issuer, args.concurrency, args.turns_per_chat, concurrent=True)
        )
        rows.append((f"{args.concurrency} concurrent chats x {args.turns_per_chat} turns", turns, wall))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"\nHTTP benchmark: POST /chatkit through uvicorn on loopback, offline model, message {MESSAGE!r}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; times in ms\n")
    header = (
        f"{'scenario':<48} {'turns':>5} {'TTFB p50':>9} {'p99':>7} {'1st delta p50':>14} {'p99':>7}"
        f" {'end p50':>8} {'p99':>7} {'turns/s':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, turns, wall in rows:
        ttfb = [t.ttfb for t in turns]
        delta = [t.first_delta for t in turns]
        end = [t.end for t in turns]
        print(
            f"{name:<48} {len(turns):>5} {pct(ttfb, 50):>9.1f} {pct(ttfb, 99):>7.1f}"
            f" {pct(delta, 50):>14.1f} {pct(delta, 99):>7.1f} {pct(end, 50):>8.1f} {pct(end, 99):>7.1f}"
            f" {len(turns) / wall:>8.1f}"
        )
    print(f"\nmean end-of-stream, sequential: {statistics.mean(t.end for t in rows[0][1]) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

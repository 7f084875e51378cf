"""Delay the stack adds to each model token on its way to the client, and whether anything batches.

    scripts/uv run python bench/stream_delay_bench.py [--turns 10] [--tokens 50] [--interval-ms 20]

A server process runs the real app under uvicorn on loopback (function-URL door, rate limit, gate,
ChatKit server, DynamoDB store on moto) with a model that answers in ``--tokens`` text deltas, one every
``--interval-ms``, each stamped with the moment the model yields it (``time.perf_counter``, the one
monotonic clock of the machine). The client (this process) reads the SSE stream as bytes arrive and, for
each delta, takes arrival minus stamp: the delay added by the Agents SDK, ChatKit's bridge and server,
the SSE response, uvicorn, loopback TCP and the client's own read. The server also notes when each event
left the app (the ASGI ``send``), which splits that delay into the app's part and the rest.

"Batched" counts network reads that carried more than one delta, and deltas that reached the client
only after the model had produced the next one. A benchmark that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bench_server import Recorder, percentile, run, spawn
from task_assistant.agent.offline import OfflineModel
from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LocalIssuer

STAMP = re.compile(rb"<(\d+)@(\d+\.\d+)>")


class StampedTokenModel(OfflineModel):
    """The offline model, its answer replaced by ``tokens`` deltas ``interval`` apart, each stamped."""

    def __init__(self, tokens: int, interval: float) -> None:
        self.tokens = tokens
        self.interval = interval

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        delta_sent = False
        async for event in super().stream_response(*args, **kwargs):
            if getattr(event, "type", "") != "response.output_text.delta":
                yield event
            elif not delta_sent:
                delta_sent = True
                for n in range(self.tokens):
                    await asyncio.sleep(self.interval)
                    yield event.model_copy(update={"delta": f"<{n}@{time.perf_counter():.7f}> "})


def serve(port: int, data_dir: str, tokens: int, interval: float) -> None:
    from task_assistant.agent.models import ModelFactory
    from task_assistant.chat.service_factory import build_chatkit_server
    from task_assistant.local.embedded import EmbeddedAWS
    from task_assistant.web.app import create_app
    from task_assistant.web.services import Services

    model = StampedTokenModel(tokens, interval)

    class StampedModels(ModelFactory):
        async def get_model(self, name: str | None = None) -> Any:
            return model

    issuer = LocalIssuer.load_or_create(data_dir)
    jwks = issuer.serve_jwks()
    with EmbeddedAWS(prefix="bench") as aws:
        trust: dict[str, Any] = {"jwt_issuer": issuer.issuer, "jwt_client_ids": [issuer.client_id]}
        settings = aws.settings(**trust, jwks_url=jwks.url, openai_api_key=None)
        server = build_chatkit_server(settings)
        server.models = StampedModels(settings)
        app = create_app(settings, door="function_url", services=Services(settings, chatkit_server=server))
        run(Recorder(app, keep_bodies=True), port)


def turn(port: int, token: str) -> tuple[dict[int, float], dict[int, float], list[int]]:
    """One turn: (stamp by token, client arrival by token, deltas per network read).

    The client is a bare socket (HTTP/1.1, ``Connection: close``), so what is measured is the stack, not
    an HTTP client's per-chunk work; stamps are found in the raw bytes, chunked framing and all.
    """
    payload = json.dumps(
        {
            "type": "threads.create",
            "params": {
                "input": {
                    "content": [{"type": "input_text", "text": "hello"}],
                    "quoted_text": "",
                    "attachments": [],
                    "inference_options": {},
                }
            },
        }
    ).encode()
    head = (
        f"POST /chatkit HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    stamps: dict[int, float] = {}
    arrivals: dict[int, float] = {}
    per_read: list[int] = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head.encode() + payload)
        while data := sock.recv(65536):
            now = time.perf_counter()
            found = STAMP.findall(data)
            per_read.append(len(found))
            for n, stamp in found:
                stamps[int(n)] = float(stamp)
                arrivals[int(n)] = now
    if not stamps:
        raise RuntimeError("the turn streamed no stamped delta")
    return stamps, arrivals, per_read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.data_dir, args.tokens, args.interval_ms / 1000)
        return 0

    data_dir = tempfile.mkdtemp(prefix="stream-delay-bench-")
    issuer = LocalIssuer.load_or_create(data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = str(Path(__file__).resolve())
    extra = ["--data-dir", data_dir, "--tokens", str(args.tokens), "--interval-ms", str(args.interval_ms)]
    server = spawn(script, port, *extra)
    total: list[float] = []
    app_part: list[float] = []
    wire: list[float] = []
    reads_with_several = late = tokens = 0
    try:
        token = issuer.mint(f"bench-{time.monotonic_ns()}")
        turn(port, token)  # warm-up: builds the ChatKit server, fetches the JWKS
        for _ in range(args.turns):
            stamps, arrivals, per_read = turn(port, token)
            sent = _server_send_times(url)
            tokens += len(stamps)
            reads_with_several += sum(1 for count in per_read if count > 1)
            for n, stamp in stamps.items():
                total.append((arrivals[n] - stamp) * 1000)
                if n in sent:
                    app_part.append((sent[n] - stamp) * 1000)
                    wire.append((arrivals[n] - sent[n]) * 1000)
                if n + 1 in stamps and arrivals[n] > stamps[n + 1]:
                    late += 1
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"\nstream_delay_bench: {args.turns} turns x {args.tokens} deltas, one every "
        f"{args.interval_ms:g} ms; {tokens} deltas measured; added delay in ms\n"
    )
    print(f"{'from the model yielding a delta to':<46}{'p50':>7}{'p90':>7}{'p99':>7}{'max':>7}")
    rows = (
        ("the app sending its SSE event (ASGI send)", app_part),
        ("the client reading it", total),
        ("  of which: ASGI send to the client's read", wire),
    )
    for name, values in rows:
        print(
            f"{name:<46}{statistics.median(values):>7.2f}{percentile(values, 90):>7.2f}"
            f"{percentile(values, 99):>7.2f}{max(values):>7.2f}"
        )
    print(
        f"\nbatching: {reads_with_several} network reads carried more than one delta; "
        f"{late} of {tokens} deltas reached the client after the model had produced the next one"
    )
    return 0


def _server_send_times(url: str) -> dict[int, float]:
    record = httpx.get(f"{url}/bench/last").json()
    sent: dict[int, float] = {}
    for at, body in record["bodies"]:
        for n, _ in STAMP.findall(body.encode()):
            sent.setdefault(int(n), at)
    return sent


if __name__ == "__main__":
    raise SystemExit(main())

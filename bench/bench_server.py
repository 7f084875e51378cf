"""Plumbing shared by the latency benches: the app in a uvicorn process of its own, observed from inside.

- :class:`StorageCalls` records every DynamoDB call a boto3 client makes (start, end, operation) and can
  delay each request by a fixed latency (a ``before-send`` hook that sleeps on the worker thread making
  the call), the way an in-region DynamoDB round trip would take it.
- :class:`Recorder` wraps the ASGI app: for each ``POST /chatkit`` it notes when the request arrived,
  when the first body byte (the first SSE event) and the last were sent, the storage calls made
  meanwhile, what each observer reports, and (``keep_bodies``) each body chunk with the time it was sent;
  ``GET /bench/last``
  returns that record and ``POST /bench/latency?ms=N`` sets the latency.
- :func:`spawn` starts a bench script's ``--serve`` mode in a subprocess and waits for ``/health``.

Server and client are separate processes, so neither waits for the other's GIL; both read
``time.perf_counter`` (``CLOCK_MONOTONIC`` on Linux: one clock for every process on the machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import IO, Any, Protocol
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class StorageCalls:
    """DynamoDB calls made through the clients attached, with an injectable per-request latency."""

    def __init__(self) -> None:
        self.latency_s = 0.0
        self.calls: list[tuple[float, float, str]] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb.*", self._before_call)
        client.meta.events.register("before-send.dynamodb.*", self._before_send)
        client.meta.events.register("after-call.dynamodb.*", self._after_call)

    def _before_call(self, **_: Any) -> None:
        self._local.started = time.perf_counter()

    def _before_send(self, **_: Any) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)

    def _after_call(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.calls.append((self._local.started, time.perf_counter(), event_name.rsplit(".", 1)[-1]))

    def reset(self) -> None:
        with self._lock:
            self.calls = []


class Observer(Protocol):
    """Something that measures one request: reset when it starts, reported into its record at the end."""

    def reset(self) -> None: ...

    def report(self) -> dict[str, Any]: ...


class Recorder:
    """ASGI wrapper timing ``POST /chatkit`` server-side (one request at a time) and serving ``/bench/*``."""

    def __init__(
        self,
        app: ASGIApp,
        calls: StorageCalls | None = None,
        *,
        keep_bodies: bool = False,
        observers: Sequence[Observer] = (),
    ) -> None:
        self.app = app
        self.calls = calls or StorageCalls()
        self.keep_bodies = keep_bodies
        self.observers = list(observers)
        self.routes: dict[str, Callable[[dict[str, str]], Awaitable[Any]]] = {}
        """Extra ``/bench/...`` routes: path -> handler of the query parameters, answering JSON."""
        self.last: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/bench/"):
            await self._bench_route(scope, send)
            return
        if scope["type"] != "http" or path != "/chatkit":
            await self.app(scope, receive, send)
            return
        self.calls.reset()
        for observer in self.observers:
            observer.reset()
        record: dict[str, Any] = {"start": time.perf_counter(), "first_body": None, "bodies": []}

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                now = time.perf_counter()
                record["first_body"] = record["first_body"] or now
                if self.keep_bodies:
                    record["bodies"].append((now, message["body"].decode(errors="replace")))
            await send(message)

        await self.app(scope, receive, timed_send)
        record["end"] = time.perf_counter()
        record["calls"] = list(self.calls.calls)
        for observer in self.observers:
            record.update(observer.report())
        self.last = record

    async def _bench_route(self, scope: Scope, send: Send) -> None:
        handler = self.routes.get(scope["path"])
        if handler is not None:
            query = parse_qs(scope.get("query_string", b"").decode())
            body = json.dumps(await handler({k: v[0] for k, v in query.items()})).encode()
        elif scope["path"] == "/bench/latency":
            query = parse_qs(scope.get("query_string", b"").decode())
            self.calls.latency_s = float(query.get("ms", ["0"])[0]) / 1000
            body = b"{}"
        else:
            body = json.dumps(self.last).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def run(app: ASGIApp, port: int, *, like_lambda: bool = False) -> None:
    """Serve ``app`` on loopback until killed (the server side of :func:`spawn`).

    ``like_lambda``: log as ``functions/run.sh`` does in the streaming function (``--log-level info``,
    so uvicorn writes an access line per request).
    """
    import uvicorn

    level = "info" if like_lambda else "warning"
    uvicorn.run(app, host="127.0.0.1", port=port, log_level=level, access_log=like_lambda, lifespan="off")


def spawn(script: str, port: int, *args: str, output: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """Run ``script --serve <port> <args>`` in a new process; return once its ``/health`` answers.

    ``output`` receives the server's stdout and stderr, unbuffered (what Lambda would ship to CloudWatch).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    sink: IO[bytes] | int = output if output is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, script, "--serve", str(port), *args], env=env, stdout=sink, stderr=sink
    )
    url = f"http://127.0.0.1:{port}/health"
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"server {script} {args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def waves(calls: list[tuple[float, float, str]], before: float) -> int:
    """Sequential storage round trips among the calls that started before ``before``.

    Calls that overlap in time count as one round trip (a wave); a call that starts after every earlier
    one ended starts a new wave.
    """
    count, end = 0, float("-inf")
    for start, stop, _ in sorted(c for c in calls if c[0] < before):
        if start >= end:
            count += 1
        end = max(end, stop)
    return count


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

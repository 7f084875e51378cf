"""Dependencies that misbehave on purpose, over the real protocols the app speaks to them.

- :class:`FaultProxy`: DynamoDB's HTTP API between the app and the embedded moto server. Per request it
  passes the call on, answers a throttling error exactly as DynamoDB does (botocore parses it and retries
  it like a real one), stalls (holds the request unanswered past the client's read timeout, then drops
  the connection: bounded), or is down (drops the connection at once). Faults happen before the request
  reaches moto, so a failed write was never applied.
- :class:`StallServer`: accepts TCP connections and never answers (a DynamoDB endpoint, a JWKS URL or a
  model provider that hangs), until stopped.

Used by the reliability tests and by ``bench/reliability_bench.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import httpx

from task_assistant.local.embedded import free_port

Mode = Literal["pass", "stall", "down"]

# Hop-by-hop and length headers: the proxy frames each message itself.
_NOT_FORWARDED = frozenset(
    {"host", "connection", "keep-alive", "content-length", "transfer-encoding", "expect", "content-encoding"}
)
#: The two throttling answers DynamoDB gives: on-demand tables and provisioned ones.
THROTTLING_ERRORS = ("ThrottlingException", "ProvisionedThroughputExceededException")


def dynamodb_error(code: str, message: str, status: int = 400) -> bytes:
    """A DynamoDB (JSON 1.0 protocol) error response, as the service sends it."""
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {'Bad Request' if status == 400 else 'Error'}\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        f"x-amzn-RequestId: {uuid.uuid4().hex}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def writes_an_answer(operation: str, body: bytes) -> bool:
    """A ``throttle_when`` picking ChatKit's write of a finished assistant message (a chat-table row)."""
    item = json.loads(body).get("Item", {}) if operation == "PutItem" else {}
    return bool(item.get("item_type") == {"S": "assistant_message"})


class FaultProxy:
    """A fault-injecting HTTP proxy for DynamoDB on ``127.0.0.1:<free port>`` (see the module docstring).

    ``throttle_rate``: share of requests answered with a throttling error while ``mode`` is ``pass``;
    ``throttle_when(operation, body)``: throttle exactly the requests it picks (``"PutItem"``, raw JSON).
    ``mode``: ``stall`` holds every request for ``stall_seconds`` then drops it; ``down`` drops every
    request at once; :meth:`outage_after` schedules a ``down`` window. ``counts`` tallies what each
    request got.
    """

    def __init__(self, upstream_url: str, *, seed: int = 0, stall_seconds: float = 5.0) -> None:
        self.upstream = upstream_url.rstrip("/")
        self.port = free_port()
        self.throttle_rate = 0.0
        self.throttle_when: Callable[[str, bytes], bool] | None = None
        self.mode: Mode = "pass"
        self.stall_seconds = stall_seconds
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._outage: tuple[int, float] | None = None
        self._outage_ends = 0.0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def outage_after(self, requests: int, seconds: float) -> None:
        """Be ``down`` for ``seconds`` from the ``requests``-th request on (an outage mid-run)."""
        self._outage = (requests, seconds)

    def heal(self) -> None:
        """No more faults: pass every request on (an outage in progress or scheduled ends now)."""
        self.throttle_rate = 0.0
        self.throttle_when = None
        self.mode = "pass"
        self._outage = None
        self._outage_ends = 0.0

    def _draw(self, operation: str, body: bytes) -> str:
        if self._outage is not None and sum(self.counts.values()) >= self._outage[0]:
            self._outage_ends = time.monotonic() + self._outage[1]
            self._outage = None
        if time.monotonic() < self._outage_ends:
            return "down"
        if self.mode != "pass":
            return self.mode
        if self.throttle_when is not None and self.throttle_when(operation, body):
            return "throttle"
        if self.throttle_rate and self._random.random() < self.throttle_rate:
            return "throttle"
        return "pass"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with httpx.AsyncClient(timeout=60) as upstream:
            server = await asyncio.start_server(
                lambda r, w: self._track(self._serve(r, w, upstream)), "127.0.0.1", self.port
            )
            self._ready.set()
            await self._stop.wait()
            server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _track(self, handler: Coroutine[Any, Any, None]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await handler
        except asyncio.CancelledError:
            pass  # the proxy is stopping: end quietly (asyncio logs a cancelled connection handler)
        finally:
            self._handlers.discard(task)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: httpx.AsyncClient
    ) -> None:
        try:
            while True:  # one keep-alive connection, request after request
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = [(k.strip(), v.strip()) for k, v in (ln.split(":", 1) for ln in lines if ln)]
                length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
                body = await reader.readexactly(length) if length else b""
                amz_target = next((v for k, v in headers if k.lower() == "x-amz-target"), "")
                fault = self._draw(amz_target.rpartition(".")[2], body)
                self.counts[fault] += 1
                if fault == "down":
                    writer.transport.abort()
                    return
                if fault == "stall":
                    await asyncio.sleep(self.stall_seconds)
                    writer.transport.abort()
                    return
                if fault == "throttle":
                    code = self._random.choice(THROTTLING_ERRORS)
                    writer.write(dynamodb_error(code, "Rate of requests exceeds the allowed throughput."))
                else:
                    writer.write(await self._forward(upstream, method, target, headers, body))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def _forward(
        self,
        upstream: httpx.AsyncClient,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bytes:
        kept = [(k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED]
        response = await upstream.request(method, self.upstream + target, headers=kept, content=body)
        content = response.content
        out = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
        out += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in _NOT_FORWARDED]
        out.append(f"Content-Length: {len(content)}")
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + content


class StallServer:
    """Accepts connections on ``127.0.0.1:<free port>`` and never answers until :meth:`stop`."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="stall-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StallServer:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._sock.close()

    def __enter__(self) -> StallServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused (a dependency that is down)."""
    return f"http://127.0.0.1:{free_port()}"

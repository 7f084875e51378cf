"""Overhead of one chat turn and DynamoDB requests per turn, at thread lengths 10 and 1,000.

    uv run python bench/turn_bench.py [--turns 30] [--lengths 10,1000]

Runs the real ChatKit server (DynamoDB store, S3 attachments, task service, in-memory MCP tools) on the
embedded AWS services with the offline model, which answers instantly, so what is measured is the
server's own work per turn: request parsing, store reads and writes, history conversion, the agent run
and the SSE stream. Each turn is ``threads.add_user_message`` timed from ``server.process`` to the end of
the stream; DynamoDB requests are counted with a botocore ``before-send`` hook on the one client the
store and the task service share. After each turn the two new items are deleted (uncounted), so the
thread keeps its length. Prints a table; this is a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from chatkit.server import StreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    UserMessageItem,
    UserMessageTextContent,
)

from task_assistant.chat.ids import new_id
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.context import RequestContext
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.storage.clients import dynamodb_client


class RequestCounter:
    """Counts DynamoDB API calls (by operation) made through one boto3 client, and the time spent in them.

    ``before-send`` fires once per HTTP request (retries included); ``before-call``/``after-call`` bracket
    each API call on the worker thread that makes it, which gives the time spent waiting for DynamoDB.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.intervals: list[tuple[float, float, str]] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def sent(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def before_call(self, **_: Any) -> None:
        self._local.started = time.perf_counter()

    def after_call(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.intervals.append((self._local.started, time.perf_counter(), event_name.rsplit(".", 1)[-1]))

    @property
    def seconds(self) -> float:
        """Wall time during which at least one DynamoDB call was in flight (overlaps counted once)."""
        total, end = 0.0, float("-inf")
        for start, stop, _ in sorted(self.intervals):
            if stop > end:
                total += stop - max(start, end)
                end = stop
        return total

    def op_seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for start, stop, op in self.intervals:
            out[op] = out.get(op, 0.0) + stop - start
        return out

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send.dynamodb.*", self.sent)
        client.meta.events.register("before-call.dynamodb.*", self.before_call)
        client.meta.events.register("after-call.dynamodb.*", self.after_call)

    def reset(self) -> None:
        self.calls.clear()
        self.intervals.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _body(thread_id: str, text: str) -> str:
    return json.dumps(
        {
            "type": "threads.add_user_message",
            "params": {
                "thread_id": thread_id,
                "input": {
                    "content": [{"type": "input_text", "text": text}],
                    "quoted_text": "",
                    "attachments": [],
                    "inference_options": {},
                },
            },
        }
    )


async def _turn(
    server: TaskChatKitServer, ctx: RequestContext, thread_id: str, text: str
) -> tuple[float, list[str]]:
    started = time.perf_counter()
    result = await server.process(_body(thread_id, text), ctx)
    assert isinstance(result, StreamingResult)
    chunks = [chunk async for chunk in result]
    elapsed = time.perf_counter() - started
    events = [json.loads(c.decode()[len("data: ") :]) for c in chunks]
    if any(e["type"] == "error" for e in events):
        raise RuntimeError(f"turn failed: {events}")
    new_items = [e["item"]["id"] for e in events if e["type"] == "thread.item.done"]
    return elapsed, new_items


async def _thread_of_length(server: TaskChatKitServer, ctx: RequestContext, length: int) -> str:
    result = await server.process(
        json.dumps(
            {
                "type": "threads.create",
                "params": {
                    "input": {
                        "content": [{"type": "input_text", "text": "hi"}],
                        "quoted_text": "",
                        "attachments": [],
                        "inference_options": {},
                    }
                },
            }
        ),
        ctx,
    )
    assert isinstance(result, StreamingResult)
    events = [json.loads(c.decode()[len("data: ") :]) async for c in result]
    thread_id = str(events[0]["thread"]["id"])
    start = datetime.now() - timedelta(days=1)
    for n in range(length - 2):  # the first turn made two items
        at = start + timedelta(seconds=n)
        item: UserMessageItem | AssistantMessageItem
        if n % 2 == 0:
            item = UserMessageItem(
                id=new_id("message"),
                thread_id=thread_id,
                created_at=at,
                content=[UserMessageTextContent(text=f"question {n}: add something to my list please")],
                attachments=[],
                inference_options=InferenceOptions(),
            )
        else:
            item = AssistantMessageItem(
                id=new_id("message"),
                thread_id=thread_id,
                created_at=at,
                content=[AssistantMessageContent(text=f"answer {n}: done, it is on your list now.")],
            )
        await server.store.add_thread_item(thread_id, item, ctx)
    count = await _count_items(server, ctx, thread_id)
    assert count == length, (count, length)
    return thread_id


async def _count_items(server: TaskChatKitServer, ctx: RequestContext, thread_id: str) -> int:
    seen: set[str] = set()
    after = None
    while True:
        page = await server.store.load_thread_items(thread_id, after, 100, "asc", ctx)
        seen.update(item.id for item in page.data)
        if not page.has_more:
            return len(seen)
        after = page.after


async def _measure(
    server: TaskChatKitServer, counter: RequestCounter, lengths: list[int], turns: int, text: str
) -> dict[int, dict[str, Any]]:
    """Turns alternate between the threads, so load on a shared machine hits every length alike."""
    threads: dict[int, tuple[RequestContext, str]] = {}
    for length in lengths:
        ctx = RequestContext(user_id=f"bench-{length}-{text[:3]}")
        threads[length] = (ctx, await _thread_of_length(server, ctx, length))
    times: dict[int, list[float]] = {n: [] for n in lengths}
    own: dict[int, list[float]] = {n: [] for n in lengths}
    requests: dict[int, set[int]] = {n: set() for n in lengths}
    ops: dict[int, Counter[str]] = {n: Counter() for n in lengths}
    op_ms: dict[int, Counter[str]] = {n: Counter() for n in lengths}
    for n in range(turns + 3):  # three warm-up rounds
        for length, (ctx, thread_id) in threads.items():
            counter.reset()
            elapsed, new_items = await _turn(server, ctx, thread_id, text)
            if n >= 3:
                times[length].append(elapsed)
                own[length].append(elapsed - counter.seconds)
                requests[length].add(counter.total)
                ops[length].update(counter.calls)
                op_ms[length].update({op: sec * 1000 for op, sec in counter.op_seconds().items()})
            for item_id in new_items:  # keep the thread at its length (not counted)
                await server.store.delete_thread_item(thread_id, item_id, ctx)
            for task in (await server.tasks.list(ctx, limit=100)).tasks:
                await server.tasks.delete(ctx, task.id)
    # The history read alone (one Query), to show how the emulator's Query time depends on partition size.
    history_ms: dict[int, float] = {}
    for length, (ctx, thread_id) in threads.items():
        samples = []
        for _ in range(turns):
            started = time.perf_counter()
            await server.store.load_thread_items(
                thread_id, None, server.settings.history_max_items, "desc", ctx
            )
            samples.append(time.perf_counter() - started)
        history_ms[length] = statistics.median(samples) * 1000
    return {
        length: {
            "history_ms": history_ms[length],
            "median_ms": statistics.median(times[length]) * 1000,
            "p90_ms": statistics.quantiles(times[length], n=10)[-1] * 1000,
            "own_ms": statistics.median(own[length]) * 1000,
            "requests": sorted(requests[length]),
            "ops": {op: count / turns for op, count in sorted(ops[length].items())},
            "op_ms": {op: ms / max(1, ops[length][op]) for op, ms in sorted(op_ms[length].items())},
        }
        for length in lengths
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--lengths", default="10,1000")
    parser.add_argument(
        "--history", type=int, default=None, help="history_max_items (default: the Settings default)"
    )
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]

    with EmbeddedAWS(prefix="bench") as aws:
        overrides = {"history_max_items": args.history} if args.history else {}
        settings = aws.settings(**overrides)
        ddb = dynamodb_client(settings)
        counter = RequestCounter()
        counter.attach(ddb)
        server = build_chatkit_server(settings, dynamodb=ddb)
        assert server.models.is_offline
        print(
            f"offline model, history_max_items={settings.history_max_items}, "
            f"{args.turns} turns per row after 3 warm-up turns; times are medians"
        )
        header = (
            f"{'turn':<26}{'items':>7}{'total ms':>10}{'p90 ms':>9}{'excl. DynamoDB ms':>19}{'requests':>10}"
        )
        print(header + "  per turn by operation (mean ms per call)")
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for label, text in (('no tool ("hello")', "hello"), ('one tool ("add buy milk")', "add buy milk")):
            measured = await _measure(server, counter, lengths, args.turns, text)
            for length, r in measured.items():
                results[(label, length)] = r
                reqs = "/".join(str(x) for x in r["requests"])
                ops = ", ".join(f"{op} {n:g} ({r['op_ms'][op]:.1f} ms)" for op, n in r["ops"].items())
                print(
                    f"{label:<26}{length:>7}{r['median_ms']:>10.1f}{r['p90_ms']:>9.1f}{r['own_ms']:>19.1f}"
                    f"{reqs:>10}  {ops}"
                )
        if len(lengths) >= 2:
            first, last = lengths[0], lengths[-1]
            for label in dict.fromkeys(k[0] for k in results):
                small, big = results[(label, first)], results[(label, last)]
                total = big["median_ms"] / small["median_ms"]
                own = big["own_ms"] / small["own_ms"]
                same = small["requests"] == big["requests"]
                print(
                    f"{label}: {last}/{first} items: total x{total:.2f}, excluding DynamoDB x{own:.2f}; "
                    f"same request count: {same}"
                )
            small, big = results[(label, first)], results[(label, last)]
            print(
                f"history read alone (1 Query, {settings.history_max_items} items): "
                f"{small['history_ms']:.1f} ms at {first} items, {big['history_ms']:.1f} ms at {last} "
                "(moto scans the whole partition per Query; DynamoDB reads only the requested page)"
            )


if __name__ == "__main__":
    asyncio.run(main())

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
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

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
from task_assistant.storage.clients import dynamodb_client
from task_assistant.storage.embedded import EmbeddedAWS


class RequestCounter:
    """Counts DynamoDB API calls (by operation) made through one boto3 client."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def reset(self) -> None:
        self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _body(thread_id: str, text: str) -> str:
    return json.dumps(
        {
            "type": "threads.add_user_message",
            "params": {
                "thread_id": thread_id,
                "input": {"content": [{"type": "input_text", "text": text}], "quoted_text": "",
                          "attachments": [], "inference_options": {}},
            },
        }
    )  # fmt: skip


async def _turn(server: TaskChatKitServer, ctx: RequestContext, thread_id: str, text: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    result = await server.process(_body(thread_id, text), ctx)
    chunks = [chunk async for chunk in result]  # type: ignore[union-attr]
    elapsed = time.perf_counter() - started
    events = [json.loads(c.decode()[len("data: ") :]) for c in chunks]
    if any(e["type"] == "error" for e in events):
        raise RuntimeError(f"turn failed: {events}")
    new_items = [e["item"]["id"] for e in events if e["type"] == "thread.item.done"]
    return elapsed, new_items


async def _thread_of_length(server: TaskChatKitServer, ctx: RequestContext, length: int) -> str:
    result = await server.process(
        json.dumps({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "hi"}],
                    "quoted_text": "", "attachments": [], "inference_options": {}}}}),
        ctx,
    )  # fmt: skip
    events = [json.loads(c.decode()[len("data: ") :]) async for c in result]  # type: ignore[union-attr]
    thread_id = str(events[0]["thread"]["id"])
    start = datetime.now() - timedelta(days=1)
    for n in range(length - 2):  # the first turn made two items
        at = start + timedelta(seconds=n)
        item: UserMessageItem | AssistantMessageItem
        if n % 2 == 0:
            item = UserMessageItem(
                id=new_id("message"), thread_id=thread_id, created_at=at,
                content=[UserMessageTextContent(text=f"question {n}: add something to my list please")],
                attachments=[], inference_options=InferenceOptions(),
            )  # fmt: skip
        else:
            item = AssistantMessageItem(
                id=new_id("message"), thread_id=thread_id, created_at=at,
                content=[AssistantMessageContent(text=f"answer {n}: done, it is on your list now.")],
            )  # fmt: skip
        await server.store.add_thread_item(thread_id, item, ctx)
    count = await _count_items(server, ctx, thread_id)
    assert count == length, (count, length)
    return thread_id


async def _count_items(server: TaskChatKitServer, ctx: RequestContext, thread_id: str) -> int:
    count, after = 0, None
    while True:
        page = await server.store.load_thread_items(thread_id, after, 100, "asc", ctx)
        count += len(page.data)
        if not page.has_more:
            return count
        after = page.after


async def _measure(server: TaskChatKitServer, counter: RequestCounter, length: int, turns: int, text: str) -> dict[str, Any]:
    ctx = RequestContext(user_id=f"bench-{length}-{text[:3]}")
    thread_id = await _thread_of_length(server, ctx, length)
    times: list[float] = []
    requests: list[int] = []
    ops: Counter[str] = Counter()
    for n in range(turns + 3):  # three warm-up turns
        counter.reset()
        elapsed, new_items = await _turn(server, ctx, thread_id, text)
        if n >= 3:
            times.append(elapsed)
            requests.append(counter.total)
            ops.update(counter.calls)
        for item_id in new_items:  # keep the thread at its length (not counted)
            await server.store.delete_thread_item(thread_id, item_id, ctx)
        for task in (await server.tasks.list(ctx, limit=100)).tasks:
            await server.tasks.delete(ctx, task.id)
    return {
        "length": length,
        "median_ms": statistics.median(times) * 1000,
        "p90_ms": statistics.quantiles(times, n=10)[-1] * 1000 if len(times) >= 10 else max(times) * 1000,
        "requests": sorted(set(requests)),
        "ops": {op: count / turns for op, count in sorted(ops.items())},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--lengths", default="10,1000")
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]

    with EmbeddedAWS(prefix="bench") as aws:
        settings = aws.settings()
        ddb = dynamodb_client(settings)
        counter = RequestCounter()
        ddb.meta.events.register("before-send.dynamodb.*", counter)
        server = build_chatkit_server(settings, dynamodb=ddb)
        assert server.models.is_offline
        print(f"history_max_items={settings.history_max_items}, {args.turns} turns per row (after 3 warm-up turns)")
        print(f"{'turn':<26}{'thread length':>14}{'median ms':>11}{'p90 ms':>9}{'DynamoDB requests':>19}  per turn by operation")
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for label, text in (("no tool (\"hello\")", "hello"), ("one tool (\"add buy milk\")", "add buy milk")):
            for length in lengths:
                r = await _measure(server, counter, length, args.turns, text)
                results[(label, length)] = r
                reqs = "/".join(str(x) for x in r["requests"])
                ops = ", ".join(f"{op} {n:g}" for op, n in r["ops"].items())
                print(f"{label:<26}{length:>14}{r['median_ms']:>11.1f}{r['p90_ms']:>9.1f}{reqs:>19}  {ops}")
        for label in {k[0] for k in results}:
            if len(lengths) >= 2:
                small, big = results[(label, lengths[0])], results[(label, lengths[-1])]
                ratio = big["median_ms"] / small["median_ms"]
                same = small["requests"] == big["requests"]
                print(f"{label}: time ratio {lengths[-1]}/{lengths[0]} = {ratio:.2f}; same request count: {same}")


if __name__ == "__main__":
    asyncio.run(main())

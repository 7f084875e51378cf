"""Cost of reaching the task tools through in-process MCP (prints figures; not a timed test).

    uv run python bench/mcp_bench.py [--rounds 50]

Runs against the embedded DynamoDB (moto on loopback). For each round it opens an Agents SDK bridge
session (in-memory MCP: streams + server task + handshake), lists the tools, calls ``list_tasks``, and
closes the session; it also times the same listing called on the service directly, so the MCP overhead
of a call is the difference between the two. A call the service rejects before touching DynamoDB shows
the protocol's own cost per call, free of DynamoDB's variance.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from task_assistant.context import RequestContext
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.tasks.mcp_bridge import open_task_tools
from task_assistant.tasks.mcp_server import TaskToolsServer
from task_assistant.tasks.service import TaskService


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{name:<40} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms"


async def bench(rounds: int, aws: EmbeddedAWS) -> None:
    settings = aws.create_resources("bench")
    service = TaskService(settings)
    server = TaskToolsServer(service)
    user = RequestContext(user_id="bench-user")
    for i in range(10):
        await service.add(user, f"task {i}")

    timings: dict[str, list[float]] = {
        k: [] for k in ("open", "list_first", "list_cached", "call", "call_no_io", "close", "total", "direct")
    }
    clock: Callable[[], float] = time.perf_counter

    first_listing = True
    for _ in range(rounds + 1):  # the first round warms imports and connections; not counted
        t0 = clock()
        async with open_task_tools(server, user) as tasks_mcp:
            t1 = clock()
            await tasks_mcp.list_tools()
            t2 = clock()
            result = await tasks_mcp.call_tool("list_tasks", {"limit": 10})
            t3 = clock()
            # A call the service rejects before any DynamoDB request: the protocol's own cost.
            rejected = await tasks_mcp.call_tool("add_task", {"title": " "})
            n1 = clock()
        t4 = clock()
        assert not result.is_error and rejected.is_error
        d0 = clock()
        await service.list(user, "all", 10)
        d1 = clock()
        if first_listing:
            timings["list_first"].append(t2 - t1)
            first_listing = False
            continue
        timings["open"].append(t1 - t0)
        timings["list_cached"].append(t2 - t1)
        timings["call"].append(t3 - t2)
        timings["call_no_io"].append(n1 - t3)
        timings["close"].append(t4 - n1)
        # A turn: open, list, the list_tasks call and close (the extra rejected call left out).
        timings["total"].append(t4 - t0 - (n1 - t3))
        timings["direct"].append(d1 - d0)

    print(f"in-process MCP bridge, {rounds} rounds (moto DynamoDB on loopback)")
    print(summary("open session (streams+task+handshake)", timings["open"]))
    print(f"{'list_tools, first in process (over MCP)':<40} {timings['list_first'][0] * 1000:7.2f} ms")
    print(summary("list_tools, cached", timings["list_cached"]))
    print(summary("call_tool list_tasks (10 tasks)", timings["call"]))
    print(summary("call_tool without DynamoDB (rejected)", timings["call_no_io"]))
    print(summary("close session", timings["close"]))
    print(summary("open + list + call + close", timings["total"]))
    print(summary("service.list directly (same query)", timings["direct"]))
    med = {k: statistics.median(v) for k, v in timings.items() if k != "list_first"}
    protocol = med["open"] + med["list_cached"] + med["call_no_io"] + med["close"]
    print(f"{'MCP overhead per turn, no I/O (sum)':<40} {protocol * 1000:7.2f} ms")
    print(f"{'  cross-check: total - direct':<40} {(med['total'] - med['direct']) * 1000:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with EmbeddedAWS(prefix="bench") as aws:
        asyncio.run(bench(args.rounds, aws))


if __name__ == "__main__":
    main()

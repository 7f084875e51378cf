"""SnapStart's effect on the first ChatKit turn, measured on this machine (prints figures; not a test).

Each run starts a fresh streaming process (``functions/run.sh``, uvicorn, as the Lambda Web Adapter
starts it) against embedded DynamoDB/S3 and the local token issuer, offline model, in one of two ways:

- **cold**: no hooks; the first ``threads.create`` turn imports the agent stack and builds the ChatKit
  server (what an on-demand cold start pays today);
- **snapstart**: the adapter's two hooks, POSTed from loopback exactly as the adapter sends them
  (``AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH``, then ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH``),
  then the first turn; what a restored copy does before and at its first request. On Lambda the
  snapshot is taken between the two hooks and the restore itself costs extra (a few hundred ms for a
  Python function of this size), which a local process cannot reproduce.

Then the same turn again in the same process (warm). Reports medians of ``--runs`` processes and the
ratio of each first turn to the warm one; the SnapStart goal is a ratio of at most 1.3.

    scripts/uv run python bench/snapstart_bench.py             # 5 runs per mode
    scripts/uv run python bench/snapstart_bench.py --runs 3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

import httpx

# Run as a script, bench/ is on sys.path: the fresh-process helpers are cold_start.py's.
from cold_start import chatkit_turn, local_stack, run_sh
from task_assistant.web.snapstart import AFTER_RESTORE_PATH, BEFORE_CHECKPOINT_PATH

GOAL_RATIO = 1.3


def _hook(base: str, path: str) -> dict[str, Any]:
    """POST an empty body to a hook path, as the adapter does; its answer and wall time."""
    started = time.perf_counter()
    response = httpx.post(f"{base}{path}", timeout=120)
    wall = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    return {"wall_ms": round(wall, 1), "steps_ms": body["steps_ms"], "counts": body["counts"]}


def one_run(env: dict[str, str], token: str, *, snapstart: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with run_sh(env) as (base, ready_ms):
        figures["ready_ms"] = round(ready_ms, 1)
        if snapstart:
            figures["before_checkpoint"] = _hook(base, BEFORE_CHECKPOINT_PATH)
            figures["after_restore"] = _hook(base, AFTER_RESTORE_PATH)
        figures["first_turn"] = chatkit_turn(base, token, "add a task: buy milk")
        figures["warm_turn"] = chatkit_turn(base, token, "add a task: call mom")
    return figures


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="First ChatKit turn with and without the SnapStart hooks.")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per mode (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 2),
    }
    with local_stack() as (base_env, issuer):
        hook_env = {
            **base_env,
            "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH": BEFORE_CHECKPOINT_PATH,
            "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": AFTER_RESTORE_PATH,
        }
        for mode, env in (("cold", base_env), ("snapstart", hook_env)):
            runs = [
                one_run(env, issuer.mint(f"bench-{mode}-{i}"), snapstart=mode == "snapstart")
                for i in range(args.runs)
            ]
            first = _median([r["first_turn"]["turn_ms"] for r in runs])
            warm = _median([r["warm_turn"]["turn_ms"] for r in runs])
            summary: dict[str, Any] = {
                "ready_ms": _median([r["ready_ms"] for r in runs]),
                "first_event_ms": _median([r["first_turn"]["first_event_ms"] for r in runs]),
                "first_turn_ms": first,
                "warm_first_event_ms": _median([r["warm_turn"]["first_event_ms"] for r in runs]),
                "warm_turn_ms": warm,
                "ratio": round(
                    statistics.median(r["first_turn"]["turn_ms"] / r["warm_turn"]["turn_ms"] for r in runs), 2
                ),
            }
            if mode == "snapstart":
                summary["before_checkpoint_ms"] = _median([r["before_checkpoint"]["wall_ms"] for r in runs])
                summary["after_restore_ms"] = _median([r["after_restore"]["wall_ms"] for r in runs])
                summary["before_checkpoint_steps_ms"] = runs[len(runs) // 2]["before_checkpoint"]["steps_ms"]
            report[mode] = summary
    report["load_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"First ChatKit turn, fresh streaming process (python {report['python']}, {report['cpus']} CPUs, "
        f"load average {report['load_before']} -> {report['load_after']}; median of {args.runs} processes)"
    )
    for mode in ("cold", "snapstart"):
        s = report[mode]
        line = (
            f"\n{mode:9s} first turn {s['first_turn_ms']} ms (first event {s['first_event_ms']} ms), "
            f"warm turn {s['warm_turn_ms']} ms (first event {s['warm_first_event_ms']} ms), "
            f"ratio {s['ratio']}"
        )
        if mode == "snapstart":
            line += (
                f"\n          before-checkpoint hook {s['before_checkpoint_ms']} ms "
                f"({s['before_checkpoint_steps_ms']}), after-restore hook {s['after_restore_ms']} ms"
            )
        print(line)
    ratio = report["snapstart"]["ratio"]
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    print(f"\nSnapStart first turn / warm turn = {ratio}: {verdict} the goal of {GOAL_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

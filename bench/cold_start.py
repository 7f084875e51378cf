"""Cold start of each Lambda entry point, measured on this machine (prints figures; not a test).

For every measurement a fresh Python process is started, as Lambda does for a cold start:

1. Import: ``python -X importtime -c 'import task_assistant.entry.<door>'`` — total import time of
   the entry module, the heaviest top-level packages, and whether the heavy modules (the agent,
   the model client, MCP, ChatKit) stay unloaded until first needed.
2. API function (Mangum): import + the first ``/health`` invocation with ``tests/events/api_health.json``
   in a fresh process.
3. Streaming function: ``functions/run.sh`` started the way the Lambda Web Adapter starts it
   (``PORT``, ``LAMBDA_TASK_ROOT``), time until ``GET /health`` answers (LWA's readiness check).
4. First ChatKit turn: a fresh ``run.sh`` process against embedded DynamoDB/S3 (moto on loopback)
   and the local token issuer, offline model: time to the first streamed event and to the end of
   the turn (``threads.create`` with one user message).

Runs use the project's interpreter (``uv run``). Lambda runs Python 3.13 on arm64 with the layer's
precompiled byte-code, so absolute numbers differ; the split between phases is what carries over.

    uv run python bench/cold_start.py            # 5 runs each (median reported)
    uv run python bench/cold_start.py --runs 3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
RUN_SH = FUNCTIONS / "run.sh"
ENTRY_POINTS = {"streaming": "task_assistant.entry.streaming", "api": "task_assistant.entry.api"}
#: Modules that must load lazily (first ChatKit turn), never at import of the entry point.
HEAVY = ("agents", "openai", "mcp", "chatkit")
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(FUNCTIONS),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        "POWERTOOLS_METRICS_NAMESPACE": "TaskAssistantBench",
        "ENVIRONMENT": "bench",
    }
    env.update(extra or {})
    return env


# --- 1. import time ---------------------------------------------------------------------------


def import_profile(module: str) -> dict[str, Any]:
    """One fresh ``-X importtime`` import of ``module``: total, top packages, heavy modules loaded."""
    probe = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        env=_base_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{result.stderr[-3000:]}")
    total_us = 0
    top: dict[str, int] = {}  # top-level package -> sum of its modules' own (self) import time
    for line in result.stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if not match:
            continue
        own, cumulative, name = int(match.group(1)), int(match.group(2)), match.group(3)
        if name == module:
            total_us = cumulative
        package = name.split(".")[0]
        top[package] = top.get(package, 0) + own
    heavy_loaded = json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"'))
    ranked = sorted(top.items(), key=lambda kv: kv[1], reverse=True)[:8]
    return {
        "total_ms": total_us / 1000,
        "top_ms": [(n, us / 1000) for n, us in ranked],
        "heavy": heavy_loaded,
    }


def lambda_like_import(module: str, python313: str, layer_site: Path) -> float:
    """Import ``module`` with Python 3.13 and only the built layer + functions/ on the path.

    Closest to Lambda this machine gets: the layer's wheels (x86_64 build, since arm64 binaries
    cannot load here) with their precompiled byte-code, no dev packages, nothing written back
    (``/opt`` is read-only on Lambda). Returns the entry module's cumulative import time in ms.
    """
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": f"{FUNCTIONS}:{layer_site}",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [python313, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {module} from the layer failed:\n{result.stderr[-3000:]}")
    for line in result.stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match and match.group(3) == module:
            return int(match.group(2)) / 1000
    raise RuntimeError(f"no import time reported for {module}")


#: What the first ChatKit turn imports on top of the streaming entry point.
LAZY_STACK = "task_assistant.chat.service_factory, agents, openai, mcp, chatkit.server"


def lambda_like_lazy_stack(python313: str, layer_site: Path) -> float:
    """ms to import the lazily loaded agent stack after the streaming entry (3.13, layer only)."""
    probe = (
        "import time, task_assistant.entry.streaming\n"
        "t = time.perf_counter()\n"
        f"import {LAZY_STACK}\n"
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": f"{FUNCTIONS}:{layer_site}",
        "AWS_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [python313, "-c", probe], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing the agent stack from the layer failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def _layer_build_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("layer_build", ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- 2. API function (Mangum) -----------------------------------------------------------------

_API_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import task_assistant.entry.api as entry
t1 = time.perf_counter()

class Context:
    function_name = "bench-api"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-api"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench-api"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 29000

event = json.load(open(sys.argv[1]))
response = entry.handler(event, Context())
t2 = time.perf_counter()
figures = {"import_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000, "status": response["statusCode"]}
print(json.dumps(figures))
"""


def api_cold_start(event_file: Path) -> dict[str, float]:
    """A fresh process: import the Mangum entry point and answer the first /health event."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _API_PROBE, str(event_file)],
        env=_base_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    wall = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"API entry point failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["status"] != 200:
        raise RuntimeError(f"/health answered {figures['status']}")
    return {"process_ms": wall, "import_ms": figures["import_ms"], "first_invoke_ms": figures["first_ms"]}


# --- 3./4. streaming function under run.sh ----------------------------------------------------


@contextmanager
def run_sh(env: dict[str, str]) -> Iterator[tuple[str, float]]:
    """Start ``functions/run.sh`` like LWA does; yield (base URL, ms until /health answered 200)."""
    port = _free_port()
    process_env = {**env, "PORT": str(port), "LAMBDA_TASK_ROOT": str(FUNCTIONS)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(RUN_SH)], env=process_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = started + 120
        while True:  # the adapter's readiness check: poll until the app answers
            if proc.poll() is not None:
                raise RuntimeError(f"run.sh exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError("the app never answered /health")
            time.sleep(0.005)
        yield base, (time.perf_counter() - started) * 1000
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def local_stack() -> Iterator[tuple[dict[str, str], Any]]:
    """Embedded DynamoDB/S3 and the local token issuer; yields (app environment, issuer)."""
    from task_assistant.local.embedded import EmbeddedAWS
    from task_assistant.local.token_issuer import LocalIssuer

    issuer = LocalIssuer.generate()
    jwks = issuer.serve_jwks()
    with EmbeddedAWS(prefix="bench") as aws, tempfile.TemporaryDirectory() as data_dir:
        settings = aws.create_resources("coldstart")
        env: dict[str, str] = {}
        for name, value in settings.model_dump().items():
            if value is None or name.startswith("openai_api_key"):
                continue  # no key: the offline model answers
            if isinstance(value, list):
                value = ",".join(value)
            env[name.upper()] = str(value)
        env.update(
            {
                "JWT_ISSUER": issuer.issuer,
                "JWKS_URL": jwks.url,
                "JWT_CLIENT_IDS": issuer.client_id,
                "LOCAL_DATA_DIR": data_dir,
                "RATE_LIMIT_PER_MINUTE": "0",
            }
        )
        try:
            yield _base_env(env), issuer
        finally:
            jwks.stop()


def chatkit_turn(base: str, token: str, text: str) -> dict[str, float]:
    """One ``threads.create`` turn over SSE: ms to the first event, to the first text, to the end."""
    body = {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": text}],
                "quoted_text": "",
                "attachments": [],
                "inference_options": {},
            }
        },
    }
    started = time.perf_counter()
    first_event = first_text = None
    kinds: list[str] = []
    with httpx.stream(
        "POST", f"{base}/chatkit", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"/chatkit answered {response.status_code}: {response.read()[:500]!r}")
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            now = (time.perf_counter() - started) * 1000
            event = json.loads(line[6:])
            kinds.append(event.get("type", "?"))
            first_event = first_event if first_event is not None else now
            if first_text is None and "delta" in json.dumps(event.get("update", {})):
                first_text = now
    end = (time.perf_counter() - started) * 1000
    if "thread.created" not in kinds:
        raise RuntimeError(f"no thread.created event in {kinds}")
    return {"first_event_ms": first_event or end, "first_text_ms": first_text or end, "turn_ms": end}


# --- report -----------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


# A linear benchmark script: argument parsing, then one measurement after another.
def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description="Cold start of each entry point (fresh processes).")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--no-layer", action="store_true", help="skip the Python 3.13 import from the built (x86_64) layer"
    )
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 2),
    }

    for door, module in ENTRY_POINTS.items():
        profiles = [import_profile(module) for _ in range(args.runs)]
        report[f"import_{door}"] = {
            "total_ms": _median([p["total_ms"] for p in profiles]),
            "heavy_loaded_at_import": profiles[0]["heavy"],
            "top_ms": [(n, round(ms, 1)) for n, ms in profiles[len(profiles) // 2]["top_ms"]],
        }

    if not args.no_layer:
        build = _layer_build_module()
        python313 = build._find_python313()
        if python313 is None:
            report["layer_import"] = "skipped: no Python 3.13 interpreter on this machine"
        else:
            site = build.build("x86_64") / "python"  # x86_64: the host must be able to load the binaries
            report["layer_import"] = {
                door: _median([lambda_like_import(module, python313, site) for _ in range(args.runs)])
                for door, module in ENTRY_POINTS.items()
            }
            report["layer_import"]["agent_stack_first_turn"] = _median(
                [lambda_like_lazy_stack(python313, site) for _ in range(args.runs)]
            )
            # The same import from a copy of the layer without the precompiled byte-code: what
            # precompiling saves (Lambda cannot write .pyc files to the read-only /opt).
            with tempfile.TemporaryDirectory() as tmp:
                bare = Path(tmp) / "python"
                shutil.copytree(site, bare, ignore=shutil.ignore_patterns("__pycache__"))
                report["layer_import"]["api_without_pyc"] = _median(
                    [lambda_like_import(ENTRY_POINTS["api"], python313, bare) for _ in range(args.runs)]
                )

    event = ROOT / "tests" / "events" / "api_health.json"
    api = [api_cold_start(event) for _ in range(args.runs)]
    report["api_health"] = {key: _median([r[key] for r in api]) for key in api[0]}

    health: list[float] = []
    turns: list[dict[str, float]] = []
    with local_stack() as (env, issuer):
        for i in range(args.runs):
            with run_sh(env) as (_, ready_ms):
                health.append(ready_ms)
            with run_sh(env) as (base, ready_ms):
                token = issuer.mint(f"bench-user-{i}")
                turn = chatkit_turn(base, token, "add a task: buy milk")
                # The same turn again in the now-warm process: what the first turn's lazy loading costs.
                warm = chatkit_turn(base, token, "add a task: call mom")
                turns.append({"ready_ms": ready_ms, **turn, "warm_turn_ms": warm["turn_ms"]})
    report["streaming_health_ready_ms"] = _median(health)
    report["streaming_first_turn"] = {key: _median([t[key] for t in turns]) for key in turns[0]}

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"Cold start on this machine (python {report['python']}, {report['cpus']} CPUs, load average "
        f"{report['load_before']} at start; median of {args.runs} fresh processes)"
    )
    for door in ENTRY_POINTS:
        info = report[f"import_{door}"]
        print(f"\nimport {ENTRY_POINTS[door]}: {info['total_ms']} ms")
        print(f"  heavy modules loaded at import: {info['heavy_loaded_at_import'] or 'none'}")
        print(
            "  heaviest packages (own import time): " + ", ".join(f"{n} {ms} ms" for n, ms in info["top_ms"])
        )
    layer_import = report.get("layer_import")
    if isinstance(layer_import, dict):
        print(
            "\nPython 3.13, only the built layer (precompiled .pyc) + functions/ on the path: "
            + ", ".join(f"import {ENTRY_POINTS[d]} {layer_import[d]} ms" for d in ENTRY_POINTS)
            + "; the agent stack loaded by the first ChatKit turn: "
            + f"{layer_import['agent_stack_first_turn']} ms; "
            + f"import {ENTRY_POINTS['api']} without the precompiled .pyc: "
            + f"{layer_import['api_without_pyc']} ms"
        )
    elif layer_import:
        print(f"\nlayer import: {layer_import}")
    a = report["api_health"]
    print(
        f"\nAPI function (Mangum) fresh process: {a['process_ms']} ms to the first /health answer "
        f"(import {a['import_ms']} ms, first invocation {a['first_invoke_ms']} ms)"
    )
    print(
        "streaming function (run.sh + uvicorn): /health answered after "
        f"{report['streaming_health_ready_ms']} ms"
    )
    t = report["streaming_first_turn"]
    print(
        f"first ChatKit turn in a fresh process (offline model): ready {t['ready_ms']} ms, "
        f"first event {t['first_event_ms']} ms, first text {t['first_text_ms']} ms, "
        f"turn done {t['turn_ms']} ms after the request; the same turn warm: {t['warm_turn_ms']} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost per 1,000 chat turns from measured units, times the dated price table in bench/prices.json.

    scripts/uv run python bench/cost_bench.py [--turns 5] [--env prod] [--model-seconds 1.5]

A server process runs the app as the streaming function does (uvicorn at ``--log-level info``, the app's
logger at INFO, stdout and stderr captured as CloudWatch would receive them) on the embedded AWS services
with a metered offline model. Scenarios: the first message of a thread; a follow-up on a short thread (2
items) and on a long one (``--long-items``, history bounded by ``HISTORY_MAX_ITEMS``), each without a
tool call ("hello") and with one ("add buy milk": the model calls ``add_task``, then answers).

Measured per turn: DynamoDB requests and read/write units (computed from item sizes, see
bench/capacity.py; moto's own ``ConsumedCapacity`` is printed beside them), S3 requests, log bytes, bytes
streamed to the client, the server-side duration of the request (a Lambda invocation lasts that long
plus the time it waits for the model), and the model's input and output size. Durations and log bytes
come from a pass with the capacity meter off (its out-of-band reads take time), units from a second pass.

Lambda: GB-seconds at the memory and architecture of the CDK environment (cdk/task_assistant_cdk/config.py);
the wait for a real model is not measurable offline, so it is added as ``--model-seconds`` per model call
and shown apart. Model tokens are estimated as characters / 4 (no tokenizer offline) and priced apart.
A benchmark that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from openai.types.responses import ResponseOutputItemDoneEvent

from bench_server import Recorder, run, spawn
from task_assistant.agent.offline import OfflineModel
from task_assistant.local.embedded import free_port
from task_assistant.local.token_issuer import LocalIssuer

PRICES = Path(__file__).with_name("prices.json")
SCENARIOS = (
    ("first message (threads.create)", "hello", "new"),
    ("short thread, no tool", "hello", "short"),
    ("short thread, one tool call", "add buy milk", "short"),
    ("long thread, no tool", "hello", "long"),
    ("long thread, one tool call", "add buy milk", "long"),
)
ANSWER = "Here is what I would do about that, step by step: plan it, do it, review it. " * 8


class MeteredModel(OfflineModel):
    """The offline model, counting its calls and the size of what it is sent and what it returns."""

    def reset(self) -> None:
        self.calls = 0
        self.input_chars = 0
        self.output_chars = 0

    def report(self) -> dict[str, Any]:
        return {"model_calls": self.calls, "input_chars": self.input_chars, "output_chars": self.output_chars}

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        system, given, _settings, tools = args[:4]
        definitions = [
            {"name": t.name, "description": getattr(t, "description", ""), "parameters": t.params_json_schema}
            for t in tools
            if hasattr(t, "params_json_schema")
        ]
        self.calls += 1
        self.input_chars += (
            len(system or "") + len(json.dumps(given, default=str)) + len(json.dumps(definitions))
        )
        async for event in super().stream_response(*args, **kwargs):
            if isinstance(event, ResponseOutputItemDoneEvent):
                self.output_chars += len(event.item.model_dump_json(include={"content", "name", "arguments"}))
            yield event


class S3Requests:
    def __init__(self, client: Any) -> None:
        self.reset()
        client.meta.events.register("before-send.s3.*", self._sent)

    def reset(self) -> None:
        self.requests: Counter[str] = Counter()

    def report(self) -> dict[str, Any]:
        return {"s3_requests": dict(self.requests)}

    def _sent(self, event_name: str, **_: Any) -> None:
        self.requests[event_name.rsplit(".", 1)[-1]] += 1


def serve(port: int, data_dir: str) -> None:
    """Server process: the app logging like the streaming function, every unit metered."""
    from chatkit.types import AssistantMessageContent, AssistantMessageItem, ThreadMetadata

    from capacity import CapacityMeter
    from task_assistant.agent.models import ModelFactory
    from task_assistant.chat.ids import new_id
    from task_assistant.chat.service_factory import build_chatkit_server
    from task_assistant.context import RequestContext
    from task_assistant.local.embedded import EmbeddedAWS
    from task_assistant.log import logger
    from task_assistant.storage.clients import dynamodb_client, s3_client
    from task_assistant.storage.tables import CHAT_TABLE, TASKS_TABLE
    from task_assistant.web.app import create_app
    from task_assistant.web.rate_limits import RateLimitStore
    from task_assistant.web.services import Services

    model = MeteredModel()
    model.reset()

    class MeteredModels(ModelFactory):
        async def get_model(self, name: str | None = None) -> Any:
            return model

    issuer = LocalIssuer.load_or_create(data_dir)
    jwks = issuer.serve_jwks()
    with EmbeddedAWS(prefix="cost") as aws:
        trust: dict[str, Any] = {"jwt_issuer": issuer.issuer, "jwt_client_ids": [issuer.client_id]}
        settings = aws.settings(**trust, jwks_url=jwks.url, openai_api_key=None, rate_limit_per_minute=10_000)
        logger.setLevel("INFO")  # as the streaming entry point does with LOG_LEVEL=INFO
        ddb, s3 = dynamodb_client(settings), s3_client(settings)
        tables = {settings.chat_table_name: CHAT_TABLE, settings.tasks_table_name: TASKS_TABLE}
        meter = CapacityMeter(ddb, dynamodb_client(settings), tables)
        server = build_chatkit_server(settings, dynamodb=ddb, s3=s3)
        server.models = MeteredModels(settings)
        services = Services(settings, chatkit_server=server, rate_limits=RateLimitStore(settings, client=ddb))
        recorder = Recorder(
            create_app(settings, door="function_url", services=services),
            observers=[meter, S3Requests(s3), model],
        )

        async def seed(query: dict[str, str]) -> dict[str, str]:
            """A thread of ``items`` alternating short questions and ~700-character answers."""
            ctx, count = RequestContext(user_id=query["user"]), int(query["items"])
            start = datetime.now() - timedelta(days=1)
            thread = ThreadMetadata(id=new_id("thread"), created_at=start, title="A long chat")
            await server.store.save_thread(thread, ctx)
            for n in range(count):
                text = f"question {n}: what is on my list for the week, and what should come first?"
                content = AssistantMessageContent(text=ANSWER) if n % 2 else None
                item = (
                    AssistantMessageItem(
                        id=new_id("message"), thread_id=thread.id, created_at=start, content=[content]
                    )
                    if content
                    else _user_item(new_id("message"), thread.id, start, text)
                )
                item.created_at = start + timedelta(seconds=n)
                await server.store.add_thread_item(thread.id, item, ctx)
            return {"thread_id": thread.id}

        async def metering(query: dict[str, str]) -> dict[str, bool]:
            meter.enabled = query.get("on") == "1"
            return {"on": meter.enabled}

        recorder.routes.update({"/bench/seed": seed, "/bench/meter": metering})
        run(recorder, port, like_lambda=True)


def _user_item(item_id: str, thread_id: str, at: datetime, text: str) -> Any:
    from chatkit.types import InferenceOptions, UserMessageItem, UserMessageTextContent

    return UserMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=at,
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(),
    )


# --- client side ----------------------------------------------------------------------------------


def _message(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "quoted_text": "",
        "attachments": [],
        "inference_options": {},
    }


class Client:
    """Sends turns as one user and reads what the server measured for each."""

    def __init__(self, url: str, token: str, user: str, log_path: Path) -> None:
        self.url, self.user, self.log_path = url, user, log_path
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120)

    def turn(self, text: str, thread_id: str | None) -> tuple[dict[str, Any], str]:
        """One turn: (its measurements, the thread id)."""
        params: dict[str, Any] = {"input": _message(text)}
        if thread_id is not None:
            params["thread_id"] = thread_id
        kind = "threads.create" if thread_id is None else "threads.add_user_message"
        body = {"type": kind, "params": params}
        logged = self.log_path.stat().st_size
        streamed = b""
        with self.http.stream("POST", "/chatkit", json=body) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                streamed += chunk
        time.sleep(0.05)  # let the access line and any late log line land
        with self.log_path.open("rb") as log:
            log.seek(logged)
            log_text = log.read()
        if b'"type":"error"' in streamed:
            raise RuntimeError(f"turn failed: {streamed[-300:]!r}")
        if thread_id is None:
            first = json.loads(streamed.split(b"\n\n", 1)[0][len(b"data: ") :])
            thread_id = str(first["thread"]["id"])
        record = httpx.get(f"{self.url}/bench/last").json()
        ms = (record["end"] - record["start"]) * 1000
        record.update(log_bytes=len(log_text), log_text=log_text.decode(errors="replace"), ms=ms)
        record["response_bytes"] = len(streamed)
        return record, thread_id

    def thread_for(self, kind: str, long_items: int) -> str | None:
        if kind == "new":
            return None
        if kind == "short":
            return self.turn("hi", None)[1]  # a thread of 2 items
        params: dict[str, str | int] = {"user": self.user, "items": long_items}
        seeded = httpx.get(f"{self.url}/bench/seed", params=params, timeout=300)
        return str(seeded.json()["thread_id"])


def measure(client: Client, turns: int, long_items: int, metered: bool) -> dict[str, list[dict[str, Any]]]:
    httpx.get(f"{client.url}/bench/meter", params={"on": "1" if metered else "0"}).raise_for_status()
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in SCENARIOS}
    long_threads: dict[str, str | None] = {}
    for _ in range(turns):
        for name, text, kind in SCENARIOS:
            if kind == "long":
                if name not in long_threads:
                    long_threads[name] = client.thread_for(kind, long_items)
                thread_id = long_threads[name]
            else:
                thread_id = client.thread_for(kind, long_items)
            results[name].append(client.turn(text, thread_id)[0])
    return results


# --- report -----------------------------------------------------------------------------------------


def lambda_profile(env: str) -> tuple[int, str]:
    """(memory MB, architecture) of the streaming function in the CDK environment ``env``."""
    import sys

    sys.path.insert(
        0, str(Path(__file__).resolve().parents[1] / "cdk")
    )  # the CDK app is no installed package
    from task_assistant_cdk.config import load_config

    config = load_config(env)
    return config.streaming_memory_mb, config.architecture


def summarise(timed: list[dict[str, Any]], metered: list[dict[str, Any]]) -> dict[str, Any]:
    requests: Counter[str] = Counter()
    s3: Counter[str] = Counter()
    for r in metered:
        requests.update(r["ddb_requests"])
        s3.update(r["s3_requests"])
    n = len(metered)
    return {
        "ms": statistics.median(r["ms"] for r in timed),
        "log_bytes": statistics.median(r["log_bytes"] for r in timed),
        "response_bytes": statistics.median(r["response_bytes"] for r in timed),
        "ddb_requests": {op: c / n for op, c in sorted(requests.items())},
        "s3_requests": {op: c / n for op, c in sorted(s3.items())},
        "rru": statistics.mean(r["rru"] for r in metered),
        "wru": statistics.mean(r["wru"] for r in metered),
        "reported": (
            statistics.mean(r["reported_rru"] for r in metered),
            statistics.mean(r["reported_wru"] for r in metered),
        ),
        "model_calls": statistics.mean(r["model_calls"] for r in metered),
        "input_tokens": statistics.mean(r["input_chars"] for r in metered) / 4,
        "output_tokens": statistics.mean(r["output_chars"] for r in metered) / 4,
    }


def costs(
    s: dict[str, Any], prices: dict[str, Any], memory_mb: int, arch: str, model_seconds: float
) -> dict[str, float]:
    """Dollars per 1,000 turns, by line item."""
    aws, k, gib = prices["aws"], 1000, 2**30
    gb = memory_mb / 1024
    gb_second = aws[f"lambda_gb_second_{arch}"]
    s3_puts = sum(
        c for op, c in s["s3_requests"].items() if op in ("PutObject", "DeleteObject", "DeleteObjects")
    )
    s3_gets = sum(s["s3_requests"].values()) - s3_puts
    return {
        "Lambda requests": k * aws["lambda_request_per_million"] / 1e6,
        "Lambda duration (stack)": k * s["ms"] / 1000 * gb * gb_second,
        "DynamoDB reads": k * s["rru"] * aws["dynamodb_on_demand_read_unit_per_million"] / 1e6,
        "DynamoDB writes": k * s["wru"] * aws["dynamodb_on_demand_write_unit_per_million"] / 1e6,
        "S3 requests": k
        * (s3_puts * aws["s3_put_per_thousand"] + s3_gets * aws["s3_get_per_thousand"])
        / 1000,
        "CloudWatch Logs ingestion": k * s["log_bytes"] / gib * aws["cloudwatch_logs_ingest_per_gb"],
        "X-Ray (every turn traced)": k * aws["xray_traces_recorded_per_million"] / 1e6,
        "data transfer out": k * s["response_bytes"] / gib * aws["data_transfer_out_per_gb"],
        "Lambda duration (model wait)": k * s["model_calls"] * model_seconds * gb * gb_second,
        "API Gateway (REST door only)": k * aws["api_gateway_rest_request_per_million"] / 1e6,
        "model": k
        * (
            s["input_tokens"] * prices["model"]["input_per_million_tokens"]
            + s["output_tokens"] * prices["model"]["output_per_million_tokens"]
        )
        / 1e6,
    }


def print_units(summaries: dict[str, dict[str, Any]], memory_mb: int) -> None:
    print(
        f"{'turn':<32}{'ms':>7}{'GB-s':>8}{'DDB req':>8}{'RRU':>6}{'WRU':>6}{'moto RRU/WRU':>13}"
        f"{'S3':>4}{'log B':>7}{'out B':>7}{'model calls':>12}{'tokens in/out':>15}"
    )
    for name, s in summaries.items():
        ddb = sum(s["ddb_requests"].values())
        gb_seconds = s["ms"] / 1000 * memory_mb / 1024
        moto = f"{s['reported'][0]:.1f}/{s['reported'][1]:.1f}"
        tokens = f"{s['input_tokens']:.0f}/{s['output_tokens']:.0f}"
        print(
            f"{name:<32}{s['ms']:>7.1f}{gb_seconds:>8.3f}{ddb:>8.1f}{s['rru']:>6.1f}{s['wru']:>6.1f}{moto:>13}"
            f"{sum(s['s3_requests'].values()):>4.0f}{s['log_bytes']:>7.0f}{s['response_bytes']:>7.0f}"
            f"{s['model_calls']:>12.1f}{tokens:>15}"
        )
    for name, s in summaries.items():
        print(f"  {name}: DynamoDB {s['ddb_requests']}")


def print_costs(summaries: dict[str, dict[str, Any]], table: dict[str, dict[str, float]]) -> None:
    names = list(summaries)
    print(f"\n{'$ per 1,000 turns':<32}" + "".join(f"{n[:22]:>24}" for n in names))
    items = list(next(iter(table.values())))
    aws_stack = items[:8]
    for item in items:
        print(f"{item:<32}" + "".join(f"{table[n][item]:>24.6f}" for n in names))
    print(
        f"{'AWS, stack only (function URL)':<32}"
        + "".join(f"{sum(table[n][i] for i in aws_stack):>24.6f}" for n in names)
    )
    print(
        f"{'AWS incl. model wait':<32}"
        + "".join(
            f"{sum(table[n][i] for i in aws_stack) + table[n]['Lambda duration (model wait)']:>24.6f}"
            for n in names
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=5, help="turns per scenario and pass")
    parser.add_argument(
        "--env", default="prod", help="CDK environment whose Lambda memory/architecture to price"
    )
    parser.add_argument("--long-items", type=int, default=200)
    parser.add_argument("--model-seconds", type=float, default=1.5, help="assumed wait per model call")
    parser.add_argument("--show-log", action="store_true", help="print what one turn logged")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.data_dir)
        return 0
    prices = json.loads(PRICES.read_text())
    memory_mb, arch = lambda_profile(args.env)
    data_dir = tempfile.mkdtemp(prefix="cost-bench-")
    log_path = Path(data_dir) / "server.log"
    issuer = LocalIssuer.load_or_create(data_dir)
    port = free_port()
    with log_path.open("wb") as sink:
        server = spawn(str(Path(__file__).resolve()), port, "--data-dir", data_dir, output=sink)
        try:
            timed, metered = _run(port, issuer, log_path, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    summaries = {name: summarise(timed[name], metered[name]) for name in timed}
    table = {name: costs(s, prices, memory_mb, arch, args.model_seconds) for name, s in summaries.items()}
    print(
        f"\ncost_bench: {args.turns} turns per scenario; Lambda {memory_mb} MB {arch} (env {args.env}); "
        f"long thread {args.long_items} items; prices {prices['region']} as of {prices['as_of']} "
        "(list prices: verify, see bench/prices.json); tokens = characters / 4\n"
    )
    print_units(summaries, memory_mb)
    print_costs(summaries, table)
    print(
        f"\nLambda duration (model wait) assumes {args.model_seconds:g} s per model call; the model line "
        f"is {prices['model']['name']} list price on the offline model's token counts (real answers are "
        "longer).\nSecrets Manager: one GetSecretValue per cold start (the key is cached for the instance's "
        f"life), none per warm turn: ${prices['aws']['secrets_manager_api_calls_per_10k'] / 10_000:.6f} "
        "per cold start."
    )
    if args.show_log:
        for name, records in timed.items():
            print(f"\nserver output during one turn, {name}:\n{records[-1]['log_text']}", end="")
    return 0


def _run(
    port: int, issuer: LocalIssuer, log_path: Path, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    user = f"cost-{time.monotonic_ns()}"
    client = Client(f"http://127.0.0.1:{port}", issuer.mint(user), user, log_path)
    client.turn("hello", None)  # warm-up: builds the ChatKit server, fetches the JWKS
    timed = measure(client, args.turns, args.long_items, metered=False)
    metered = measure(client, args.turns, args.long_items, metered=True)
    return timed, metered


if __name__ == "__main__":
    raise SystemExit(main())

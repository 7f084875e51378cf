"""Lambda SnapStart: warm the app up before the snapshot; after a restore, renew what copies must not share.

With SnapStart, Lambda initializes a published version once, snapshots its memory, and starts every
later cold start from that snapshot. So:

- **Before the snapshot** (:func:`prepare_snapshot`) the app does the work a first request would pay
  for: the streaming function imports the agent stack and builds the ChatKit server (the store, the task
  tools, the model factory and the modules the model needs), completes the pydantic schemas that
  ``openai`` and ``chatkit`` defer, parses a sample request and runs one offline turn that touches no
  storage (:mod:`task_assistant.chat.warmup`); both functions build their task service,
  rate limiter and token verifier, and every AWS client drops its pooled connections (sockets do not
  survive a snapshot). Nothing secret is read: the OpenAI key is read on the first turn after a restore.
- **After a restore** (:func:`renew_after_restore`) every restored copy starts from the same memory, so
  it renews what would otherwise be shared: the ``random`` module's state is reseeded and the ULID
  generator replaced (:func:`task_assistant.chat.ids.renew_id_generator`), every AWS client's connection
  pool is emptied (:func:`task_assistant.storage.clients.renew_clients`), the JWKS keys are fetched again
  (the current set; if that fails the first token fetches it) and a built model is dropped, so its key
  is read again and its HTTP client connects afresh on the first turn; OpenSSL's generator gets fresh
  entropy mixed in. ``os.urandom`` (uuid4, ``secrets``, ULID randomness) needs nothing: it reads the
  kernel's generator, which Lambda reseeds on restore.

The streaming function runs uvicorn behind the Lambda Web Adapter, which bridges SnapStart to the app
over HTTP (adapter v1.1.0+): it POSTs to ``AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH`` and
``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`` (the stack sets them to :data:`BEFORE_CHECKPOINT_PATH` and
:data:`AFTER_RESTORE_PATH`), see :mod:`task_assistant.web.snapstart_routes`. The API function uses the
Python runtime's own hooks (``snapshot_restore_py``), see :mod:`task_assistant.entry.api`.

Imports nothing heavy (the CDK app reads the paths from here); the work imports what it needs.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from task_assistant.agent.models import ModelFactory
    from task_assistant.web.services import Services

#: A typical first request (a new thread with one message), parsed by the gate before the snapshot.
SAMPLE_CHAT_REQUEST = (
    b'{"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "hi"}], '
    b'"quoted_text": "", "attachments": [], "inference_options": {}}}}'
)

#: Where the streaming app serves the adapter's hooks (the adapter answers 403 to outside callers).
BEFORE_CHECKPOINT_PATH = "/snapstart/before-checkpoint"
AFTER_RESTORE_PATH = "/snapstart/after-restore"


@dataclass
class HookReport:
    """What a hook did: how long each step took, and counts (logged, and answered to the adapter)."""

    steps_ms: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def timed(self, name: str, started: float) -> None:
        self.steps_ms[name] = round((time.perf_counter() - started) * 1000, 1)


async def prepare_snapshot(services: Services, *, chat: bool) -> HookReport:
    """Build everything a first request would build; ``chat``: the ChatKit server and a warm-up turn too."""
    from task_assistant.storage.clients import renew_clients
    from task_assistant.web.auth import AuthUnavailableError, jwks_tls_context

    report = HookReport()
    if chat:
        await _prepare_chat(services, report)
    started = time.perf_counter()
    report.counts["pydantic_models_completed"] = complete_deferred_models()
    report.timed("pydantic_schemas", started)
    started = time.perf_counter()
    await services.tasks()
    await services.rate_limits()
    # Auth not configured: every request answers 503, snapshot or not.
    with contextlib.suppress(AuthUnavailableError):
        services.verifier()
    jwks_tls_context()  # the keys themselves are fetched after the restore (renew_after_restore)
    report.timed("tasks_rate_limits_verifier", started)
    started = time.perf_counter()
    renew_clients()  # a socket in the snapshot would be dead (or shared) in every restored copy
    gc.collect()
    report.timed("drain", started)
    return report


async def _prepare_chat(services: Services, report: HookReport) -> None:
    """The ChatKit server, the model's modules, the Agents SDK's tracing setup, the request gate's types,
    and one warm-up turn."""
    started = time.perf_counter()
    server = await services.chatkit_server()  # imports the agent stack: most of this hook's time
    report.timed("chatkit_server", started)
    started = time.perf_counter()
    from agents.tracing import get_trace_provider

    from task_assistant.web.chatkit_gate import parse_request

    models = _model_factory(server)
    if models is not None:
        models.import_model_modules()
    # The Agents SDK builds its trace provider (and exporter client) on the first run, even with
    # tracing disabled for the run; no connection is opened until something is exported.
    get_trace_provider()
    # The request gate's chatkit request types load on first use; a sample body builds them.
    parse_request(SAMPLE_CHAT_REQUEST, page_size_cap=services.settings.page_size_cap)
    report.timed("model_modules_tracing_gate", started)
    started = time.perf_counter()
    report.counts["warmup_events"] = await _warm_up_turn(server)
    report.timed("warmup_turn", started)


def complete_deferred_models() -> int:
    """Build the schema of every imported pydantic model that defers it; return how many were built.

    ``openai`` and ``chatkit`` define hundreds of models whose validators are built on first use
    (``defer_build``): about 0.6 s the first turn would otherwise spend. A model whose references still
    cannot be resolved stays deferred, as it would have been anyway.
    """
    from pydantic import BaseModel

    built = 0
    seen: set[type] = set()
    pending: list[type] = [BaseModel]
    while pending:
        subclasses: list[type] = pending.pop().__subclasses__()
        for model in subclasses:
            if model in seen:
                continue
            seen.add(model)
            pending.append(model)
            if getattr(model, "__pydantic_complete__", True):
                continue
            try:
                model.model_rebuild()  # type: ignore[attr-defined]
            except Exception:  # noqa: S112 - unresolvable references: it stays deferred
                continue
            built += 1
    return built


def renew_after_restore(services: Services) -> HookReport:
    """Renew randomness, ids, connections and caches in a restored copy (blocking: one JWKS fetch)."""
    from task_assistant.chat.ids import renew_id_generator
    from task_assistant.storage.clients import renew_clients

    report = HookReport()
    started = time.perf_counter()
    random.seed()  # from os.urandom: each copy gets its own stream
    # OpenSSL's generator (TLS handshakes) lives in the snapshot too; mix in fresh kernel entropy.
    ssl.RAND_add(os.urandom(32), 32.0)
    renew_id_generator()
    report.timed("randomness", started)
    started = time.perf_counter()
    renew_clients()
    report.timed("connections", started)
    started = time.perf_counter()
    if services.built("verifier"):
        # The snapshot's keys may be days old (a key revoked since would still verify): fetch the set.
        report.counts["jwks_refreshed"] = int(services.verifier().jwks.refresh())
    models = _model_factory(services.part("chatkit"))
    if models is not None:
        models.forget()
    report.timed("caches", started)
    return report


async def _warm_up_turn(server: object) -> int:
    """One offline turn through the real agent and tools, touching no storage; 0 if it cannot run.

    A warm-up that fails costs the first turn its speed, never the snapshot: it is logged and skipped.
    """
    from task_assistant.chat.server import TaskChatKitServer
    from task_assistant.chat.warmup import warm_up_turn
    from task_assistant.log import logger

    if not isinstance(server, TaskChatKitServer):  # a server a test injected
        return 0
    try:
        return await warm_up_turn(server)
    except Exception as exc:
        logger.warning(
            "SnapStart warm-up turn failed", extra={"error_type": type(exc).__name__, "error": str(exc)}
        )
        return 0


def _model_factory(server: object) -> ModelFactory | None:
    """The application server's model factory (a server injected by a test may have none)."""
    from task_assistant.agent.models import ModelFactory

    models = getattr(server, "models", None)
    return models if isinstance(models, ModelFactory) else None

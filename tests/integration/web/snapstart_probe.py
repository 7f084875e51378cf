"""A SnapStart restore, simulated with ``os.fork``: run by ``test_web_snapstart.py`` in a fresh process.

SnapStart snapshots a process's memory after initialization and starts every cold start from a copy of
it; ``os.fork`` gives the same starting point: two children share everything the parent had. This script
prepares the app for the snapshot (the before-checkpoint hook's work), puts state into every place a
restored copy must not share (a pooled DynamoDB connection, cached JWKS keys, a built model, the random
generators), then forks two children per mode and prints what each child saw as one JSON document:

- ``renewed``: each child runs the after-restore hook first, as a restored copy does;
- ``shared``: no hook (the control: shows the sharing the hook removes).

Each child draws random numbers and ids, says how often its JWKS cache has fetched, and
(renewed only) makes one DynamoDB call naming its own table and says whether the model it gets is the
parent's object.

    python snapstart_probe.py '<json: settings fields, jwks kid>'
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import uuid
from typing import Any

from task_assistant.agent.models import ModelFactory
from task_assistant.chat.ids import new_id
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.store import DynamoDBStore
from task_assistant.settings import Settings
from task_assistant.web.services import Services
from task_assistant.web.snapstart import prepare_snapshot, renew_after_restore


def _chat_server(services: Services) -> TaskChatKitServer:
    server = services.part("chatkit")
    assert isinstance(server, TaskChatKitServer), "prepare_snapshot(chat=True) builds the server"
    return server


def _store(server: TaskChatKitServer) -> DynamoDBStore:
    assert isinstance(server.store, DynamoDBStore)
    return server.store


#: The `random` state at the moment of the (simulated) snapshot.
SNAPSHOT_RANDOM_STATE: Any = None


def child(services: Services, kid: str, parent_model: object, *, renew: bool, table: str) -> dict[str, Any]:
    # os.fork reseeds `random` in the child (an at-fork handler); a SnapStart restore does not: every
    # copy resumes with the generator state of the snapshot. Put that state back.
    random.setstate(SNAPSHOT_RANDOM_STATE)
    if renew:
        renew_after_restore(services)
    seen: dict[str, Any] = {
        "random": [random.random() for _ in range(3)],
        "ids": [new_id("thread") for _ in range(3)],
        "uuid": uuid.uuid4().hex,
    }
    # How often this copy's JWKS cache has fetched (the snapshot's count, plus the hook's own fetch).
    jwks = services.verifier().jwks
    seen["jwks_fetches"] = jwks.fetch_count
    assert kid in jwks.known_kids
    if renew:
        server = _chat_server(services)
        _store(server).dynamodb.describe_table(TableName=table)
        models: ModelFactory = server.models
        seen["model_is_the_parents"] = asyncio.run(models.get_model()) is parent_model
    return seen


def fork_two(services: Services, kid: str, parent_model: object, *, renew: bool, mode: str) -> list[Any]:
    results = []
    for n in range(2):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a restored copy
            signal.alarm(60)  # a stuck child dies; the parent then reports an empty answer
            os.close(read)
            try:
                payload = child(services, kid, parent_model, renew=renew, table=f"{mode}-child-{n}")
            except BaseException as exc:  # reported to the parent, which fails the test with it
                payload = {"error": repr(exc)}
            os.write(write, json.dumps(payload).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            answer = pipe.read()
        results.append(json.loads(answer) if answer else {"error": "the child died without an answer"})
        os.waitpid(pid, 0)
    return results


def main() -> int:
    config = json.loads(sys.argv[1])
    settings = Settings(**config["settings"])
    services = Services(settings)
    asyncio.run(prepare_snapshot(services, chat=True))
    # State a snapshot can hold: a pooled connection, cached keys, a built model, used generators.
    server = _chat_server(services)
    _store(server).dynamodb.describe_table(TableName="parent-before-snapshot")
    asyncio.run(services.verifier().jwks.get_key(config["kid"]))
    parent_model = asyncio.run(server.models.get_model())
    new_id("thread")
    random.random()
    global SNAPSHOT_RANDOM_STATE
    SNAPSHOT_RANDOM_STATE = random.getstate()
    report = {
        "parent_jwks_fetches": services.verifier().jwks.fetch_count,
        "renewed": fork_two(services, config["kid"], parent_model, renew=True, mode="renewed"),
        "shared": fork_two(services, config["kid"], parent_model, renew=False, mode="shared"),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Property: no request body, random or a mutation of a valid one, makes /chatkit or /tasks answer 5xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.chatkit_fuzz import json_values
from support.web import ChatKitCaller, user_message
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.web.chatkit_requests import REQUEST_TYPES


@pytest.fixture(scope="module")
def fuzz_world(chat_url: str, issuer: LocalIssuer) -> dict[str, Any]:
    chat = ChatKitCaller(chat_url, issuer.mint("fuzzer"))
    thread, _ = chat.new_thread("add water the plants")
    items = chat.items(thread)
    task = chat.client.get("/tasks").json()["tasks"][0]
    return {"chat": chat, "thread": thread, "item": items[0]["id"], "task": task["id"]}


def templates(w: dict[str, Any]) -> list[dict[str, Any]]:
    thread, item = w["thread"], w["item"]
    action = {"type": "task.complete", "payload": {"task_id": w["task"]}}
    return [
        {"type": "threads.create", "params": {"input": user_message("list my tasks")}},
        {"type": "threads.add_user_message", "params": {"thread_id": thread, "input": user_message("hi")}},
        {"type": "threads.add_client_tool_output", "params": {"thread_id": thread, "result": None}},
        {
            "type": "threads.add_structured_input",
            "params": {"thread_id": thread, "item_id": item, "input": {}},
        },
        {"type": "threads.retry_after_item", "params": {"thread_id": thread, "item_id": item}},
        {"type": "threads.custom_action", "params": {"thread_id": thread, "item_id": item, "action": action}},
        {"type": "threads.sync_custom_action", "params": {"thread_id": thread, "action": action}},
        {"type": "threads.get_by_id", "params": {"thread_id": thread}},
        {"type": "threads.list", "params": {"limit": 5, "order": "asc", "after": thread}},
        {"type": "items.list", "params": {"thread_id": thread, "limit": 3, "after": item, "order": "desc"}},
        {"type": "items.feedback", "params": {"thread_id": thread, "item_ids": [item], "kind": "positive"}},
        {"type": "attachments.create", "params": {"name": "a.png", "size": 10, "mime_type": "image/png"}},
        {"type": "attachments.delete", "params": {"attachment_id": "atc_x"}},
        {"type": "threads.update", "params": {"thread_id": thread, "title": "renamed"}},
        {"type": "input.transcribe", "params": {"audio_base64": "AAAA", "mime_type": "audio/webm"}},
    ]


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    body: Any = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "replace", "retype", "add", "id", "wrap", "limit"]))
        params = body.get("params") if isinstance(body, dict) else None
        if op == "drop" and isinstance(params, dict) and params:
            params.pop(draw(st.sampled_from(sorted(params))))
        elif op == "replace" and isinstance(params, dict) and params:
            params[draw(st.sampled_from(sorted(params)))] = draw(json_values)
        elif op == "retype" and isinstance(body, dict):
            body["type"] = draw(st.sampled_from(sorted(REQUEST_TYPES)) | st.text(max_size=20))
        elif op == "add" and isinstance(body, dict):
            body[draw(st.text(max_size=8))] = draw(json_values)
        elif op == "id" and isinstance(params, dict):
            key = draw(st.sampled_from(["thread_id", "item_id", "attachment_id", "after"]))
            params[key] = draw(st.text(max_size=300) | st.sampled_from(["", "#", "thr_" + "9" * 26]))
        elif op == "wrap":
            body = draw(st.sampled_from([[body], {"params": body}, json.dumps(body)]))
        elif op == "limit" and isinstance(params, dict):
            params["limit"] = draw(
                st.integers(-(2**64), 2**64)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=3)
            )
    return body


def _send(client: httpx.Client, content: bytes) -> httpx.Response:
    with client.stream(
        "POST", "/chatkit", content=content, headers={"Content-Type": "application/json"}
    ) as r:
        r.read()  # a streamed answer must also complete without a server fault
        return r


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_chatkit_never_answers_5xx(fuzz_world: dict[str, Any], data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(templates(fuzz_world)))
    # Mostly mutations of valid requests (they get past parsing and reach the store and the agent),
    # some valid requests, arbitrary JSON and arbitrary bytes.
    kind = data.draw(st.sampled_from(["mutated"] * 5 + ["valid"] * 2 + ["json", "bytes"]), label="kind")
    if kind == "bytes":
        raw = data.draw(st.binary(max_size=64), label="raw")
    else:
        body = base if kind == "valid" else data.draw(mutated(base) if kind == "mutated" else json_values)
        raw = json.dumps(body).encode()
    response = _send(fuzz_world["chat"].client, raw)
    assert response.status_code < 500, (raw[:300], response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


task_bodies = st.dictionaries(
    st.sampled_from(["title", "notes", "expected_version", "extra"]), json_values, max_size=4
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["POST", "PATCH", "GET", "DELETE"]),
    suffix=st.sampled_from(["", "/complete", "/reopen"]),
    task_id=st.sampled_from(["", "TASK"]) | st.text(max_size=40),
    body=task_bodies,
    query=st.dictionaries(st.sampled_from(["status", "limit", "cursor"]), st.text(max_size=20), max_size=3),
    if_match=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
)
def test_tasks_never_answer_5xx(
    fuzz_world: dict[str, Any], method: str, suffix: str, task_id: str, body: Any, query: Any, if_match: Any
) -> None:
    task = fuzz_world["task"] if task_id == "TASK" else task_id
    path = "/tasks" + (f"/{quote(task, safe='')}{suffix}" if task else "")
    headers = {"If-Match": if_match} if if_match else {}
    response = fuzz_world["chat"].client.request(method, path, json=body, params=query, headers=headers)
    assert response.status_code < 500, (method, path, body, response.text[:300])

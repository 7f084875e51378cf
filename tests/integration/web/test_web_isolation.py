"""Isolation matrix: for every ChatKit request type and every /tasks route, user B naming user A's ids
gets 404 (before any stream starts), and A's threads, items, attachments and tasks are unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from support.web import ChatKitCaller, user_message
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings


@pytest.fixture(scope="module")
def world(chat_url: str, issuer: LocalIssuer) -> dict[str, Any]:
    """User A's thread (messages, a task-list widget), attachment and task; user B's own thread."""
    a = ChatKitCaller(chat_url, issuer.mint("iso-alice"))
    b = ChatKitCaller(chat_url, issuer.mint("iso-bob"))
    thread_id, _ = a.new_thread("add buy milk")
    a.stream("threads.add_user_message", {"thread_id": thread_id, "input": user_message("show my tasks")})
    items = a.items(thread_id)
    user_item = next(i["id"] for i in items if i["type"] == "user_message")
    widget_item = next(i["id"] for i in items if i["type"] == "widget")
    attachment = a.call("attachments.create", {"name": "notes.txt", "size": 5, "mime_type": "text/plain"})
    task = a.client.get("/tasks").json()["tasks"][0]
    b_thread, _ = b.new_thread("hello")
    return {
        "a": a,
        "b": b,
        "thread": thread_id,
        "user_item": user_item,
        "widget_item": widget_item,
        "attachment": attachment["id"],
        "task": task,
        "b_thread": b_thread,
    }


def snapshot(world: dict[str, Any]) -> dict[str, Any]:
    a: ChatKitCaller = world["a"]
    return {
        "thread": a.call("threads.get_by_id", {"thread_id": world["thread"]}),
        "items": a.items(world["thread"]),
        "threads": a.call("threads.list", {}),
        "task": a.client.get(f"/tasks/{world['task']['id']}").json(),
    }


def chatkit_requests(w: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    action = {"type": "task.complete", "payload": {"task_id": w["task"]["id"]}}
    return [
        # streaming
        ("threads.create", {"input": user_message("hi", [w["attachment"]])}),
        ("threads.add_user_message", {"thread_id": w["thread"], "input": user_message("hi")}),
        (
            "threads.add_user_message",
            {"thread_id": w["b_thread"], "input": user_message("hi", [w["attachment"]])},
        ),
        ("threads.add_client_tool_output", {"thread_id": w["thread"], "result": {"ok": True}}),
        ("threads.add_structured_input", {"thread_id": w["thread"], "item_id": w["user_item"], "input": {}}),
        ("threads.retry_after_item", {"thread_id": w["thread"], "item_id": w["user_item"]}),
        ("threads.retry_after_item", {"thread_id": w["b_thread"], "item_id": w["user_item"]}),
        ("threads.custom_action", {"thread_id": w["thread"], "item_id": w["widget_item"], "action": action}),
        (
            "threads.custom_action",
            {"thread_id": w["b_thread"], "item_id": w["widget_item"], "action": action},
        ),
        # JSON
        ("threads.get_by_id", {"thread_id": w["thread"]}),
        ("threads.update", {"thread_id": w["thread"], "title": "pwned"}),
        ("threads.delete", {"thread_id": w["thread"]}),
        ("items.list", {"thread_id": w["thread"]}),
        ("items.feedback", {"thread_id": w["thread"], "item_ids": [w["user_item"]], "kind": "negative"}),
        ("items.feedback", {"thread_id": w["b_thread"], "item_ids": [w["user_item"]], "kind": "negative"}),
        ("attachments.delete", {"attachment_id": w["attachment"]}),
        (
            "threads.sync_custom_action",
            {"thread_id": w["thread"], "item_id": w["widget_item"], "action": action},
        ),
    ]


REQUEST_TYPES_COVERED = {
    "threads.create",
    "threads.add_user_message",
    "threads.add_client_tool_output",
    "threads.add_structured_input",
    "threads.retry_after_item",
    "threads.custom_action",
    "threads.get_by_id",
    "threads.update",
    "threads.delete",
    "items.list",
    "items.feedback",
    "attachments.delete",
    "threads.sync_custom_action",
}


def test_every_request_naming_an_id_is_covered() -> None:
    from task_assistant.web.chatkit_requests import REQUEST_TYPES

    # threads.list, attachments.create and input.transcribe name no ids (threads.list is checked below).
    assert {"threads.list", "attachments.create", "input.transcribe"} == REQUEST_TYPES - REQUEST_TYPES_COVERED


def test_chatkit_requests_naming_another_users_ids_are_404(
    world: dict[str, Any], web_settings: Settings
) -> None:
    before = snapshot(world)
    b: ChatKitCaller = world["b"]
    assert {kind for kind, _ in chatkit_requests(world)} == REQUEST_TYPES_COVERED
    for kind, params in chatkit_requests(world):
        response = b.post(kind, params)
        assert response.status_code == 404, (kind, response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"  # not a stream
        assert response.json()["error"]["code"] == "not_found"
    listed = b.call("threads.list", {"limit": 100})
    assert world["thread"] not in {t["id"] for t in listed["data"]}
    assert snapshot(world) == before
    # A's attachment metadata is still there (B's attachments.delete did nothing).
    store = DynamoDBStore(web_settings)
    attachment = asyncio.run(store.load_attachment(world["attachment"], RequestContext(user_id="iso-alice")))
    assert attachment.id == world["attachment"]


def test_task_routes_naming_another_users_task_are_404(world: dict[str, Any]) -> None:
    before = snapshot(world)
    b: httpx.Client = world["b"].client
    task_id = world["task"]["id"]
    for method, path, body in [
        ("GET", f"/tasks/{task_id}", None),
        ("PATCH", f"/tasks/{task_id}", {"title": "pwned"}),
        ("POST", f"/tasks/{task_id}/complete", None),
        ("POST", f"/tasks/{task_id}/reopen", None),
        ("DELETE", f"/tasks/{task_id}", None),
    ]:
        response = b.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert task_id not in {t["id"] for t in b.get("/tasks").json()["tasks"]}
    assert snapshot(world) == before

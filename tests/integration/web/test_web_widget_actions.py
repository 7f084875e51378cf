"""The task list's Complete button over HTTP: the action the widget sends (``threads.sync_custom_action``),
its JSON answer and stored result, its errors, and a click that lands while the thread streams."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chatkit.types import WidgetItem

from support.web import ChatKitCaller, PacedModel, chatkit_factory, serve, sse_events, user_message
from task_assistant.agent.listing import ListedTask
from task_assistant.chat.widgets import rows_of
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services


@pytest.fixture(scope="module")
def paced_chat_url(web_settings: Settings) -> Iterator[str]:
    """The function-URL app answering with the offline model slowed down, so a turn streams for a while."""
    services = Services(web_settings, chatkit_factory=chatkit_factory(PacedModel(0.05)))
    with serve(create_app(web_settings, door="function_url", services=services)) as url:
        yield url


@pytest.fixture
def caller(paced_chat_url: str, issuer: LocalIssuer, user: str) -> Iterator[ChatKitCaller]:
    chat = ChatKitCaller(paced_chat_url, issuer.mint(user))
    yield chat
    chat.close()


def _listed(caller: ChatKitCaller) -> tuple[str, dict[str, Any]]:
    """A thread with "buy milk" and "call mom" listed: (thread id, the task-list widget item)."""
    thread_id, _ = caller.new_thread("add buy milk")
    caller.stream("threads.add_user_message", {"thread_id": thread_id, "input": user_message("add call mom")})
    events = caller.stream(
        "threads.add_user_message", {"thread_id": thread_id, "input": user_message("show my tasks")}
    )
    [widget] = [
        e["item"] for e in events if e["type"] == "thread.item.done" and e["item"]["type"] == "widget"
    ]
    return thread_id, widget


def _buttons(node: Any) -> list[dict[str, Any]]:
    """Every button in a widget tree, in order."""
    if isinstance(node, list):
        return [button for child in node for button in _buttons(child)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") == "Button" else []
    return own + _buttons(node.get("children"))


def _rows(item: dict[str, Any]) -> list[ListedTask] | None:
    return rows_of(WidgetItem.model_validate(item).widget)


def _same(item: dict[str, Any], other: dict[str, Any]) -> bool:
    """The same widget item (a stored one spells out the action defaults an answered one leaves out)."""
    return WidgetItem.model_validate(item).model_dump() == WidgetItem.model_validate(other).model_dump()


def _click(caller: ChatKitCaller, thread_id: str, widget: dict[str, Any], action: Any) -> httpx.Response:
    params = {"thread_id": thread_id, "item_id": widget["id"], "action": action}
    return caller.post("threads.sync_custom_action", params)


def test_the_complete_button_answers_the_redrawn_list_and_stores_it(caller: ChatKitCaller) -> None:
    thread_id, widget = _listed(caller)
    rows = _rows(widget)
    assert rows is not None and [r.title for r in rows] == ["call mom", "buy milk"]
    # What the widget sends for a click is the button's own action: not streaming, so sync.
    action = _buttons(widget["widget"])[1]["onClickAction"]
    assert action["streaming"] is False and action["payload"] == {"task_id": rows[1].id}

    response = _click(caller, thread_id, widget, action)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    updated = response.json()["updated_item"]
    assert updated["id"] == widget["id"]
    assert _rows(updated) == [rows[0], ListedTask(id=rows[1].id, title="buy milk", completed=True)]
    assert [b["label"] for b in _buttons(updated["widget"])] == ["Complete"], "a done row has no button"
    # Stored: the thread shows the redrawn list, and the task is done in the tasks table.
    [stored] = [i for i in caller.items(thread_id) if i["id"] == widget["id"]]
    assert _same(stored, updated)
    tasks = caller.client.get("/tasks", params={"status": "completed"}).json()["tasks"]
    assert [t["title"] for t in tasks] == ["buy milk"]


def test_a_click_while_the_thread_streams_is_answered_before_the_stream_ends(caller: ChatKitCaller) -> None:
    thread_id, widget = _listed(caller)
    rows = _rows(widget)
    assert rows is not None
    first_delta = threading.Event()
    stream_ended: list[float] = []

    def long_answer() -> None:
        body = {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_message("add water the plants")},
        }
        with caller.client.stream("POST", "/chatkit", json=body) as response:
            for event in sse_events(response):
                if event["type"] == "thread.item.updated":
                    first_delta.set()
        stream_ended.append(time.monotonic())

    streaming = threading.Thread(target=long_answer)
    streaming.start()
    try:
        assert first_delta.wait(30), "the answer never started streaming"
        response = _click(caller, thread_id, widget, _buttons(widget["widget"])[0]["onClickAction"])
        answered = time.monotonic()
    finally:
        streaming.join(60)
    assert response.status_code == 200, response.text
    assert stream_ended and answered < stream_ended[0], "the click waited for the stream"
    assert _rows(response.json()["updated_item"]) == [
        ListedTask(id=rows[0].id, title="call mom", completed=True),
        rows[1],
    ]


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ({"type": "task.delete_everything", "payload": {}}, 400, "Unknown action 'task.delete_everything'."),
        ({"type": "task.complete", "payload": {}}, 400, "The action did not say which task to complete."),
        ({"type": "task.complete", "payload": {"task_id": "01JD0000000000000000000001"}}, 404, "No task"),
    ],
)
def test_a_click_that_cannot_be_carried_out_says_why_and_changes_nothing(
    caller: ChatKitCaller, action: dict[str, Any], status: int, message: str
) -> None:
    thread_id, widget = _listed(caller)
    response = _click(caller, thread_id, widget, action)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"].startswith(message) and error["request_id"]
    [stored] = [i for i in caller.items(thread_id) if i["id"] == widget["id"]]
    assert _same(stored, widget)
    assert caller.client.get("/tasks", params={"status": "completed"}).json()["tasks"] == []

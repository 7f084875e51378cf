"""What the tools did stays in the thread: a workflow item per stretch of tool calls, stored and reloaded,
kept when the turn fails or the client goes away, and read by the model as one line per workflow."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from chatkit.server import StreamingResult
from chatkit.types import CustomSummary, CustomTask, WidgetItem, WorkflowItem

from support.agent_chat import ChatClient, message, parse_sse
from support.fake_openai import Call, Fail, FakeOpenAI, Text
from task_assistant.agent.listing import ACTIVITY_HEADER
from task_assistant.chat.activity import INTERRUPTED_DETAIL
from task_assistant.chat.server import MODEL_FAILED_MESSAGE, TaskChatKitServer
from task_assistant.chat.widgets import rows_of
from task_assistant.context import RequestContext


def _workflows(items: list[Any]) -> list[WorkflowItem]:
    return [item for item in items if isinstance(item, WorkflowItem)]


def _tasks(item: WorkflowItem) -> list[tuple[str, str]]:
    return [(str(t.title), t.status_indicator) for t in item.workflow.tasks if isinstance(t, CustomTask)]


async def test_reloaded_thread_shows_what_the_tools_did(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("add buy milk")
    thread_id = ev.thread_id
    await alice.say(thread_id, "mark buy milk as done")

    # What the widget asks for when the thread is opened again.
    thread = await alice.request({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    items = thread["items"]["data"]
    assert [i["type"] for i in items] == ["user_message", "workflow", "assistant_message"] * 2
    workflows = [i["workflow"] for i in items if i["type"] == "workflow"]
    assert [[(t["type"], t["title"], t["status_indicator"]) for t in w["tasks"]] for w in workflows] == [
        [("custom", "Added \u201cbuy milk\u201d", "complete")],
        [("custom", "Completed \u201cbuy milk\u201d", "complete")],
    ]
    assert [w["summary"] for w in workflows] == [
        {"title": "Added \u201cbuy milk\u201d"},
        {"title": "Completed \u201cbuy milk\u201d"},
    ]
    assert all(w["expanded"] is False for w in workflows), "collapsed once the answer follows"
    assert [t["icon"] for w in workflows for t in w["tasks"]] == ["plus", "check-circle"]


async def test_a_failed_tool_is_recorded_with_its_error(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("mark walk the dog as done")
    [workflow] = _workflows(await alice.items(ev.thread_id))
    [task] = workflow.workflow.tasks
    assert isinstance(task, CustomTask)
    assert task.title == "Couldn't complete \u201cwalk the dog\u201d"
    assert task.status_indicator == "none", "no check mark on a failure"
    assert task.content is not None and "walk the dog" in task.content


async def test_a_list_shown_earlier_in_the_turn_is_redrawn_when_its_tasks_change(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    await offline_server.tasks.add(alice_ctx, "water plants")
    await offline_server.tasks.add(alice_ctx, "pay rent")
    # No list in sight: the model lists first (a widget), then completes number 1 of it.
    ev = await alice.create("complete the first one")
    [shown] = ev.widgets
    [replaced] = ev.of("thread.item.replaced")
    assert replaced["item"]["id"] == shown["id"]
    rows = rows_of(WidgetItem.model_validate(replaced["item"]).widget)
    assert rows is not None and [(r.title, r.completed) for r in rows] == [
        ("pay rent", True),
        ("water plants", False),
    ]
    stored = await offline_server.store.load_item(ev.thread_id, shown["id"], alice_ctx)
    assert isinstance(stored, WidgetItem) and rows_of(stored.widget) == rows
    kinds = [i.type for i in await alice.items(ev.thread_id)]
    assert kinds == ["user_message", "widget", "workflow", "assistant_message"]


async def test_a_click_on_the_list_while_the_turn_redraws_it_is_kept(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    await offline_server.tasks.add(alice_ctx, "water plants")
    await offline_server.tasks.add(alice_ctx, "pay rent")
    real_complete = offline_server.tasks.complete
    clicked: list[str] = []

    async def click_first(context: RequestContext, task_id: str, *args: Any, **kwargs: Any) -> Any:
        # The turn listed both tasks and is about to complete "pay rent": the user clicks Complete on
        # the other row of that list first (answered at once: a sync action).
        if not clicked:
            clicked.append(task_id)
            [thread] = (await offline_server.store.load_threads(5, None, "desc", alice_ctx)).data
            widget = await _stored_list(offline_server, thread.id, alice_ctx)
            [other] = [r for r in rows_of(widget.widget) or [] if r.id != task_id]
            action = {"type": "task.complete", "payload": {"task_id": other.id}}
            params = {"thread_id": thread.id, "item_id": widget.id, "action": action}
            await alice.request({"type": "threads.sync_custom_action", "params": params})
        return await real_complete(context, task_id, *args, **kwargs)

    monkeypatch.setattr(offline_server.tasks, "complete", click_first)
    ev = await alice.create("complete the first one")
    assert not ev.errors and clicked
    [replaced] = ev.of("thread.item.replaced")
    done = [("pay rent", True), ("water plants", True)]
    rows = rows_of(WidgetItem.model_validate(replaced["item"]).widget)
    assert rows is not None and [(r.title, r.completed) for r in rows] == done, "the click's row was lost"
    stored = await _stored_list(offline_server, ev.thread_id, alice_ctx)
    assert [(r.title, r.completed) for r in rows_of(stored.widget) or []] == done


async def _stored_list(server: TaskChatKitServer, thread_id: str, ctx: RequestContext) -> WidgetItem:
    """The thread's one task list as stored, once ChatKit has stored it."""
    deadline = time.monotonic() + 10
    while True:
        items = (await server.store.load_thread_items(thread_id, None, 20, "asc", ctx)).data
        widgets = [i for i in items if isinstance(i, WidgetItem)]
        if widgets:
            return widgets[0]
        assert time.monotonic() < deadline, "the list was never stored"
        await asyncio.sleep(0.01)


async def test_the_model_reads_past_workflows_as_one_line_each(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script(
        [Call("add_task", {"title": "buy milk"}), Call("add_task", {"title": "call mom"})],
        [Text("Added both.")],
    )
    ev = await alice.create("add buy milk and call mom")
    assert not ev.errors
    # Two calls in one response run in order, into one workflow with a counted summary.
    assert ev.progress == ["Adding \u201cbuy milk\u201d\u2026", "Adding \u201ccall mom\u201d\u2026"]
    [workflow] = _workflows(await alice.items(ev.thread_id))
    assert _tasks(workflow) == [
        ("Added \u201cbuy milk\u201d", "complete"),
        ("Added \u201ccall mom\u201d", "complete"),
    ]
    assert workflow.workflow.summary == CustomSummary(title="Added 2 tasks")
    assert [t.title for t in await alice.tasks()] == ["call mom", "buy milk"], "created in order"

    fake_api.script([Text("You added two tasks.")])
    await alice.say(ev.thread_id, "what did you do?")
    sent = json.dumps(fake_api.requests[-1].body["input"], ensure_ascii=False)
    line = f"{ACTIVITY_HEADER} Added \u201cbuy milk\u201d; Added \u201ccall mom\u201d."
    assert sent.count(ACTIVITY_HEADER) == 1 and line in sent
    assert "A message was displayed to the user" not in sent, "not one message per task"


async def test_a_turn_that_fails_after_a_tool_ran_keeps_its_workflow(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    # The tool runs, then the provider fails the next call (all three attempts of the client).
    fake_api.script([Call("add_task", {"title": "buy milk"})], Fail(500), Fail(500), Fail(500))
    ev = await alice.create("add buy milk")
    [error] = ev.errors
    assert error["message"] == MODEL_FAILED_MESSAGE
    items = await alice.items(ev.thread_id)
    assert [i.type for i in items] == ["user_message", "workflow"]
    assert _tasks(_workflows(items)[0]) == [("Added \u201cbuy milk\u201d", "complete")]
    assert await alice.titles() == {"buy milk": False}


async def test_a_disconnect_while_the_model_thinks_keeps_the_workflow(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    asked, released = threading.Event(), threading.Event()

    def slow_answer(_body: dict[str, Any]) -> list[Call | Text]:
        asked.set()
        released.wait(timeout=20)  # holds the fake provider until the client has gone
        return [Text("too late")]

    fake_api.script([Call("add_task", {"title": "buy milk"})], slow_answer)
    result = await openai_server.process(
        json.dumps({"type": "threads.create", "params": {"input": message("add buy milk")}}), alice_ctx
    )
    assert isinstance(result, StreamingResult)
    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in result:
            received.append(chunk)

    reader = asyncio.create_task(consume())
    deadline = time.monotonic() + 20
    while not asked.is_set() or not any(
        e["update"]["type"] == "workflow.task.updated" for e in parse_sse(received).of("thread.item.updated")
    ):
        assert time.monotonic() < deadline, "the tool did not finish, or the model was not asked again"
        await asyncio.sleep(0.01)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    released.set()

    thread_id = parse_sse(received).thread_id
    items = await alice.items(thread_id)
    assert [i.type for i in items] == ["user_message", "workflow", "sdk_hidden_context"]
    [workflow] = _workflows(items)
    assert _tasks(workflow) == [("Added \u201cbuy milk\u201d", "complete")]
    assert workflow.workflow.summary == CustomSummary(title="Added \u201cbuy milk\u201d")
    assert INTERRUPTED_DETAIL not in json.dumps(workflow.model_dump(mode="json")), "nothing was running"

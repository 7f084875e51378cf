"""A whole conversation with the offline model, through ``server.process`` on the embedded DynamoDB.

After every step the tasks table (through the task service) and the thread's stored items must say what
the conversation said.
"""

from __future__ import annotations

import logging

import pytest
from chatkit.types import (
    AssistantMessageItem,
    CustomSummary,
    CustomTask,
    UserMessageItem,
    WidgetItem,
    WorkflowItem,
)
from pydantic import SecretStr

from support.agent_chat import ChatClient
from task_assistant.agent.listing import ListedTask
from task_assistant.agent.offline import with_offline_note
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.widgets import rows_of
from task_assistant.context import RequestContext
from task_assistant.settings import Settings


def _kinds(items: list) -> list[str]:
    return [item.type for item in items]


def _activity(item: object) -> tuple[list[str], str]:
    """A stored workflow's finished tasks (each with a check) and its summary line."""
    assert isinstance(item, WorkflowItem), item
    tasks = item.workflow.tasks
    assert all(isinstance(t, CustomTask) and t.status_indicator == "complete" for t in tasks), tasks
    assert isinstance(item.workflow.summary, CustomSummary)
    return [str(t.title) for t in tasks], item.workflow.summary.title


def _text(item: object) -> str:
    if isinstance(item, AssistantMessageItem):
        return "".join(c.text for c in item.content)
    if isinstance(item, UserMessageItem):
        return "".join(getattr(c, "text", "") for c in item.content)
    raise AssertionError(f"not a message: {item!r}")


# One scripted conversation, turn after turn: its length is the point of the test.
async def test_whole_conversation_offline(  # noqa: PLR0915
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)

    # 1. Create the thread with a first task.
    ev = await alice.create("add buy milk")
    assert not ev.errors
    thread_id = ev.thread_id
    assert ev.types[:2] == ["thread.created", "thread.item.done"]
    assert "Adding \u201cbuy milk\u201d\u2026" in ev.progress
    assert len(ev.deltas) >= 2, "the reply streams in several deltas"
    # The first answer of the thread says, once, that this is the offline assistant.
    assert ev.reply == with_offline_note("Added \u201cbuy milk\u201d to your list.")
    assert await alice.titles() == {"buy milk": False}
    items = await alice.items(thread_id)
    assert _kinds(items) == ["user_message", "workflow", "assistant_message"]
    assert _text(items[0]) == "add buy milk" and _text(items[2]) == ev.reply
    # What the tool did stays in the thread, as the widget shows it on reload.
    assert _activity(items[1]) == (["Added \u201cbuy milk\u201d"], "Added \u201cbuy milk\u201d")
    # The thread got a title from the first message, saved and announced.
    assert (await offline_server.store.load_thread(thread_id, alice_ctx)).title == "Add buy milk"
    assert ev.of("thread.updated")[-1]["thread"]["title"] == "Add buy milk"

    # 2. A second task, another phrasing.
    ev = await alice.say(thread_id, "remind me to call mom")
    assert not ev.errors and ev.reply == "Added \u201ccall mom\u201d to your list.", "no offline note again"
    assert await alice.titles() == {"buy milk": False, "call mom": False}
    assert _kinds(await alice.items(thread_id)) == ["user_message", "workflow", "assistant_message"] * 2
    assert (await offline_server.store.load_thread(thread_id, alice_ctx)).title == "Add buy milk"

    # 3. List them: a widget with both, newest first, each with a complete action.
    ev = await alice.say(thread_id, "what's on my list?")
    assert not ev.errors
    assert "Looking up your tasks\u2026" in ev.progress
    assert len(ev.widgets) == 1
    items = await alice.items(thread_id)
    assert _kinds(items)[-3:] == ["user_message", "widget", "assistant_message"]
    widget_item = items[-2]  # a lookup leaves no workflow: the list is its record
    assert isinstance(widget_item, WidgetItem)
    rows = rows_of(widget_item.widget)
    tasks = {t.title: t for t in await alice.tasks()}
    assert rows == [
        ListedTask(id=tasks["call mom"].id, title="call mom", completed=False),
        ListedTask(id=tasks["buy milk"].id, title="buy milk", completed=False),
    ]
    assert "2 tasks" in ev.reply

    # 4. Complete one by title.
    ev = await alice.say(thread_id, "mark buy milk as done")
    assert not ev.errors
    assert "Completing \u201cbuy milk\u201d\u2026" in ev.progress
    assert "Marked \u201cbuy milk\u201d as done" in ev.reply
    assert await alice.titles() == {"buy milk": True, "call mom": False}

    # 5. Rename one.
    ev = await alice.say(thread_id, "rename call mom to call mom tonight")
    assert not ev.errors
    assert "Renaming \u201ccall mom\u201d to \u201ccall mom tonight\u201d\u2026" in ev.progress
    assert ev.reply == "Renamed it to \u201ccall mom tonight\u201d."
    assert await alice.titles() == {"buy milk": True, "call mom tonight": False}

    # 6. Delete "the second one": position 2 of the list shown in step 3 (buy milk), by its id.
    ev = await alice.say(thread_id, "delete the second one")
    assert not ev.errors
    assert ev.progress == ["Deleting \u201cbuy milk\u201d\u2026"], "named after the list the user saw"
    assert ev.activity == ["Deleted \u201cbuy milk\u201d"]
    assert ev.reply == "Deleted \u201cbuy milk\u201d."
    assert await alice.titles() == {"call mom tonight": False}

    # The thread holds the whole conversation in order, as it was said.
    items = await alice.items(thread_id)
    assert _kinds(items) == [
        "user_message", "workflow", "assistant_message",
        "user_message", "workflow", "assistant_message",
        "user_message", "widget", "assistant_message",
        "user_message", "workflow", "assistant_message",
        "user_message", "workflow", "assistant_message",
        "user_message", "workflow", "assistant_message",
    ]  # fmt: skip
    assert [_activity(i)[0] for i in items if isinstance(i, WorkflowItem)] == [
        ["Added \u201cbuy milk\u201d"],
        ["Added \u201ccall mom\u201d"],
        ["Completed \u201cbuy milk\u201d"],
        ["Renamed \u201ccall mom\u201d to \u201ccall mom tonight\u201d"],
        ["Deleted \u201cbuy milk\u201d"],
    ]
    said = [_text(i) for i in items if isinstance(i, UserMessageItem)]
    assert said == [
        "add buy milk",
        "remind me to call mom",
        "what's on my list?",
        "mark buy milk as done",
        "rename call mom to call mom tonight",
        "delete the second one",
    ]
    assert _text(items[-1]) == "Deleted \u201cbuy milk\u201d."


async def test_ordinal_without_a_list_lists_first(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    await offline_server.tasks.add(alice_ctx, "water plants")
    await offline_server.tasks.add(alice_ctx, "pay rent")
    ev = await alice.create("complete the first one")
    assert not ev.errors
    # Newest first: "pay rent" is number 1. The list was fetched (and shown) before acting.
    assert ev.progress[0] == "Looking up your tasks\u2026"
    assert len(ev.widgets) == 1
    assert await alice.titles() == {"water plants": False, "pay rent": True}


async def test_greeting_gets_help_and_changes_nothing(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("hello!")
    assert not ev.errors
    assert "add buy milk" in ev.reply and "delete the second one" in ev.reply
    assert ev.progress == []
    assert await alice.tasks() == []
    assert (await offline_server.store.load_thread(ev.thread_id, alice_ctx)).title == "Hello!"


async def test_notes_and_reopen(offline_server: TaskChatKitServer, alice_ctx: RequestContext) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("add pay rent with note: before the 5th")
    thread_id = ev.thread_id
    [task] = await alice.tasks()
    assert (task.title, task.notes) == ("pay rent", "before the 5th")
    ev = await alice.say(thread_id, "add a note to pay rent: transfer from savings")
    assert not ev.errors and "note" in ev.reply
    assert (await alice.tasks())[0].notes == "transfer from savings"
    await alice.say(thread_id, "I finished pay rent")
    assert await alice.titles() == {"pay rent": True}
    ev = await alice.say(thread_id, "reopen pay rent")
    assert "Reopened" in ev.reply
    assert await alice.titles() == {"pay rent": False}


def test_startup_log_names_the_model(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    build_chatkit_server(settings)
    assert "Chat model: offline model (deterministic, no network" in caplog.text
    caplog.clear()
    build_chatkit_server(settings.model_copy(update={"openai_api_key": SecretStr("sk-secret-value")}))
    assert "Chat model: OpenAI, Responses API, model 'gpt-4.1-mini'" in caplog.text
    assert "sk-secret-value" not in caplog.text

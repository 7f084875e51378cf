"""Widget action, user isolation, bounded history, attachments, retries and client tool output."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta

import httpx
import pytest
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ClientToolCallItem,
    InferenceOptions,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
)

from support.agent_chat import PNG, ChatClient, Events, openai_settings, upload
from support.fake_openai import Call, FakeOpenAI, Text
from support.store import race_item_writes
from task_assistant.agent.listing import ListedTask
from task_assistant.chat.converter import TaskThreadItemConverter
from task_assistant.chat.ids import new_id
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.widgets import COMPLETE_ACTION, rows_of
from task_assistant.context import RequestContext
from task_assistant.settings import Settings


def _action(thread_id: str, item_id: str, task_id: str, *, sync: bool = False) -> dict[str, object]:
    return {
        "type": "threads.sync_custom_action" if sync else "threads.custom_action",
        "params": {
            "thread_id": thread_id,
            "item_id": item_id,
            "action": {"type": COMPLETE_ACTION, "payload": {"task_id": task_id}},
        },
    }


async def _listed(alice: ChatClient) -> tuple[str, str, list[ListedTask]]:
    """A thread where alice added two tasks and listed them: (thread id, widget item id, rows)."""
    thread_id = (await alice.create("add buy milk")).thread_id
    await alice.say(thread_id, "add call mom")
    ev = await alice.say(thread_id, "show my tasks")
    [widget] = ev.widgets
    rows = rows_of(WidgetItem.model_validate(widget).widget)
    assert rows is not None and [r.title for r in rows] == ["call mom", "buy milk"]
    return thread_id, widget["id"], rows


async def test_widget_action_completes_task_and_updates_widget(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    thread_id, widget_id, rows = await _listed(alice)
    buy_milk = rows[1]

    ev = await alice.send(_action(thread_id, widget_id, buy_milk.id))
    assert not ev.errors
    [replaced] = ev.of("thread.item.replaced")
    assert replaced["item"]["id"] == widget_id
    assert rows_of(WidgetItem.model_validate(replaced["item"]).widget) == [
        rows[0],
        ListedTask(id=buy_milk.id, title="buy milk", completed=True),
    ]
    # The task is completed in the tasks table, and the stored widget is the updated one.
    assert await alice.titles() == {"buy milk": True, "call mom": False}
    stored = await offline_server.store.load_item(thread_id, widget_id, alice_ctx)
    assert isinstance(stored, WidgetItem)
    assert rows_of(stored.widget) == rows_of(WidgetItem.model_validate(replaced["item"]).widget)
    assert stored.copy_text == "[ ] call mom\n[x] buy milk"
    # The updated list is what the model reads next turn: "done" shows in its text.
    ev = await alice.say(thread_id, "complete the first one")
    assert await alice.titles() == {"buy milk": True, "call mom": True}


async def test_two_clicks_at_once_on_one_list_both_show(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    thread_id, widget_id, rows = await _listed(alice)
    # Both clicks read the list before either writes it back (two rows, or two tabs, clicked together).
    assert isinstance(offline_server.store, DynamoDBStore)
    writes = race_item_writes(offline_server.store, monkeypatch, readers=2)

    answers = await asyncio.gather(
        *(alice.request(_action(thread_id, widget_id, row.id, sync=True)) for row in rows)
    )
    assert writes == [True, False, True], "the second write found the list changed and redrew it again"
    done = [ListedTask(id=row.id, title=row.title, completed=True) for row in rows]
    # The click that redrew the list last answers it with both rows done.
    assert done in [rows_of(WidgetItem.model_validate(a["updated_item"]).widget) for a in answers]
    stored = await offline_server.store.load_item(thread_id, widget_id, alice_ctx)
    assert isinstance(stored, WidgetItem) and rows_of(stored.widget) == done
    assert await alice.titles() == {"buy milk": True, "call mom": True}


async def test_second_user_sees_and_changes_nothing(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext, bob_ctx: RequestContext
) -> None:
    alice, bob = ChatClient(offline_server, alice_ctx), ChatClient(offline_server, bob_ctx)
    alice_thread, widget_id, rows = await _listed(alice)
    before = await alice.tasks()

    # Bob's own conversation: his list is empty, and naming Alice's tasks (by id or title) finds nothing.
    ev = await bob.create("show my tasks")
    bob_thread = ev.thread_id
    assert "empty" in ev.reply
    assert rows_of(WidgetItem.model_validate(ev.widgets[0]).widget) == []
    for attempt in (
        f"delete {rows[0].id}",
        f"mark {rows[1].id} as done",
        f"rename {rows[0].id} to hacked",
        "delete buy milk",
        "complete call mom",
    ):
        ev = await bob.say(bob_thread, attempt)
        assert not ev.errors
        assert ev.reply.startswith("Sorry, I couldn't do that:"), (attempt, ev.reply)
        assert "No task" in ev.reply
    # Bob's widget action naming Alice's task fails the same way.
    bob_widget = (await bob.items(bob_thread))[1]
    ev = await bob.send(_action(bob_thread, bob_widget.id, rows[0].id))
    [error] = ev.errors
    assert error["code"] == "custom" and "No task" in error["message"]
    # Alice's thread does not exist for Bob: no reading, writing or acting in it.
    # (ChatKit raises before the first event; the HTTP layer turns that into a 404.)
    with pytest.raises(NotFoundError):
        await bob.say(alice_thread, "add sneaky task")
    with pytest.raises(NotFoundError):
        await bob.send(_action(alice_thread, widget_id, rows[0].id))
    threads = await bob.request({"type": "threads.list", "params": {}})
    assert [t["id"] for t in threads["data"]] == [bob_thread]
    items = await bob.request({"type": "items.list", "params": {"thread_id": alice_thread}})
    assert items["data"] == []
    with pytest.raises(NotFoundError):
        await bob.request({"type": "threads.get_by_id", "params": {"thread_id": alice_thread}})

    assert await alice.tasks() == before, "nothing of Alice's changed"
    assert await bob.tasks() == []
    assert [i.type for i in await alice.items(alice_thread)].count("user_message") == 3


async def _seed(server: TaskChatKitServer, ctx: RequestContext, thread_id: str, pairs: int) -> None:
    # Timestamps after the thread's first turn and before the next message (seeding takes longer).
    start = datetime.now()
    for n in range(pairs):
        at = start + timedelta(microseconds=20 * n)
        await server.store.add_thread_item(
            thread_id,
            UserMessageItem(
                id=new_id("message"),
                thread_id=thread_id,
                created_at=at,
                content=[UserMessageTextContent(text=f"old question {n}")],
                attachments=[],
                inference_options=InferenceOptions(),
            ),
            ctx,
        )
        await server.store.add_thread_item(
            thread_id,
            AssistantMessageItem(
                id=new_id("message"),
                thread_id=thread_id,
                created_at=at + timedelta(microseconds=10),
                content=[AssistantMessageContent(text=f"old answer {n}")],
            ),
            ctx,
        )


async def test_history_sent_to_the_model_is_bounded(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api, history_max_items=6))
    alice = ChatClient(server, alice_ctx)
    fake_api.script([Text("First.")])
    thread_id = (await alice.create("hello")).thread_id
    await _seed(server, alice_ctx, thread_id, 40)

    fake_api.script([Text("Latest.")])
    ev = await alice.say(thread_id, "newest question")
    assert not ev.errors
    sent = fake_api.requests[-1].body["input"]
    assert len(sent) == 6, "exactly the configured number of items"
    texts = json.dumps(sent)
    assert "newest question" in json.dumps(sent[-1])
    assert "old answer 39" in texts and "old question 39" in texts
    assert "old question 37" not in texts and "hello" not in texts


async def test_attachments_reach_the_model(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    image_id = await upload(alice, "photo.png", "image/png", PNG)
    notes_id = await upload(alice, "list.txt", "text/plain", b"eggs\nflour\n")
    fake_api.script([Text("Nice photo.")])
    ev = await alice.create("what do you see?", attachments=[image_id, notes_id])
    assert not ev.errors, ev.errors
    [user_message] = [i for i in fake_api.requests[0].body["input"] if i.get("role") == "user"]
    parts = user_message["content"]
    assert parts[0] == {"type": "input_text", "text": "what do you see?"}
    assert {"type": "input_text", "text": "Attached file: photo.png (image/png)"} in parts
    images = [p for p in parts if p["type"] == "input_image"]
    # Local S3 is not reachable by a provider, so the bytes travel inline as a data URL.
    assert images and images[0]["image_url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert any(
        p["type"] == "input_text" and p["text"] == "Contents of list.txt:\neggs\nflour\n" for p in parts
    )


async def test_offline_model_acknowledges_attachments(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    image_id = await upload(alice, "photo.png", "image/png", PNG)
    ev = await alice.create("", attachments=[image_id])
    assert not ev.errors
    assert ev.reply.startswith("I see you attached photo.png.")
    assert (await offline_server.store.load_thread(ev.thread_id, alice_ctx)).title == "Attachment: photo.png"
    ev = await alice.say(
        ev.thread_id,
        "add buy milk",
        attachments=[await upload(alice, "r.pdf", "application/pdf", b"%PDF-1.4")],
    )
    assert "I see you attached r.pdf." in ev.reply and "Added \u201cbuy milk\u201d" in ev.reply


async def test_retry_after_item_regenerates_the_answer(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script([Text("A bad answer.")])
    ev = await alice.create("what's on my list")
    thread_id = ev.thread_id
    user_item_id = ev.done_items[0]["id"]
    fake_api.script([Call("list_tasks", {})], [Text("Your list is empty.")])
    ev = await alice.send(
        {"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": user_item_id}}
    )
    assert not ev.errors and ev.reply == "Your list is empty."
    items = await alice.items(thread_id)
    assert [i.type for i in items] == ["user_message", "widget", "assistant_message"]
    assert items[0].id == user_item_id
    assert "A bad answer." not in json.dumps(fake_api.requests[-2].body["input"])


async def test_client_tool_output_continues_without_a_user_message(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    thread_id = (await alice.create("add buy milk")).thread_id
    tool_call = ClientToolCallItem(
        id=new_id("tool_call"),
        thread_id=thread_id,
        created_at=datetime.now(),
        name="get_location",
        arguments={},
        call_id="call_location_1",
        status="pending",
    )
    await offline_server.store.add_thread_item(thread_id, tool_call, alice_ctx)
    ev: Events = await alice.send(
        {
            "type": "threads.add_client_tool_output",
            "params": {"thread_id": thread_id, "result": {"city": "Lisbon"}},
        }
    )
    assert not ev.errors
    assert ev.reply == "Thanks, I got the result of get_location."
    # respond(input_user_message=None) did not re-run the earlier request.
    assert await alice.titles() == {"buy milk": False}
    stored = await offline_server.store.load_item(thread_id, tool_call.id, alice_ctx)
    assert isinstance(stored, ClientToolCallItem) and stored.status == "completed"


async def test_presigned_url_delivery_points_at_the_callers_bytes(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext, bob_ctx: RequestContext
) -> None:
    """In AWS the provider downloads attachments itself: a presigned GET URL for the caller's object."""
    alice = ChatClient(offline_server, alice_ctx)
    image_id = await upload(alice, "photo.png", "image/png", PNG)
    pdf_id = await upload(alice, "r.pdf", "application/pdf", b"%PDF-1.4 tiny")
    store = offline_server.store
    image = await store.load_attachment(image_id, alice_ctx)
    pdf = await store.load_attachment(pdf_id, alice_ctx)
    # chatkit types the server's attachment_store as its AttachmentStore ABC; this one is ours (S3).
    converter = TaskThreadItemConverter(offline_server.attachment_store, alice_ctx, delivery="url")  # type: ignore[arg-type]
    image_part = await converter.attachment_to_message_content(image)
    pdf_part = await converter.attachment_to_message_content(pdf)
    assert image_part["type"] == "input_image" and pdf_part["type"] == "input_file"
    assert pdf_part["filename"] == "r.pdf"
    image_url, pdf_url = image_part.get("image_url"), pdf_part.get("file_url")
    assert image_url and pdf_url
    async with httpx.AsyncClient() as http:
        assert (await http.get(image_url)).content == PNG
        assert (await http.get(pdf_url)).content == b"%PDF-1.4 tiny"
    # The same attachment id, converted as another user, points at nothing of Alice's.
    as_bob = TaskThreadItemConverter(offline_server.attachment_store, bob_ctx, delivery="url")  # type: ignore[arg-type]
    bob_part = await as_bob.attachment_to_message_content(image)
    assert bob_part["type"] == "input_image"
    bob_url = bob_part.get("image_url")
    assert bob_url
    async with httpx.AsyncClient() as http:
        assert (await http.get(bob_url)).status_code == 404

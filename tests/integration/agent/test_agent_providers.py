"""Whole conversations on both OpenAI APIs: the real SDK model classes against the fake server over HTTP.

The fake refuses, like the real APIs, history in a form the API does not take (see fake_openai_rules),
so every turn here passing means the stored thread converted into a request the provider accepts.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

import pytest
from chatkit.types import AssistantMessageItem, ThreadItem, UserMessageItem, WidgetItem, WorkflowItem

from support.agent_chat import PNG, ChatClient, openai_settings, upload
from support.fake_openai import Break, Call, Fail, FakeOpenAI, Text
from task_assistant.agent.listing import format_task_list
from task_assistant.chat.activity import activity_line
from task_assistant.chat.converter import UNANSWERED_NOTE
from task_assistant.chat.ids import ID_PATTERN
from task_assistant.chat.run_errors import MODEL_FAILED_MESSAGE
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.widgets import rows_of
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

Api = Literal["responses", "chat_completions"]
PDF = b"%PDF-1.4 a receipt"


def _text_of(content: Any) -> list[str]:
    """The texts of a message's content, as the provider received them."""
    if isinstance(content, str):
        return [content]
    return [part["text"] for part in content or [] if "text" in part]


def conversation_sent(api: Api, body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(role, texts) of every user and assistant message in a request, in order.

    For a user message only its first part counts (what was typed, or a rendered widget): attachments
    follow it, and are checked separately.
    """
    messages = body["input"] if api == "responses" else body["messages"]
    out: list[tuple[str, list[str]]] = []
    for message in messages:
        role = message.get("role")
        if role == "user":
            out.append(("user", _text_of(message["content"])[:1]))
        elif role == "assistant" and message.get("content"):
            out.append(("assistant", _text_of(message["content"])))
    return out


def conversation_stored(items: list[ThreadItem]) -> list[tuple[str, list[str]]]:
    """What the thread's items should reach the model as, in the same shape."""
    out: list[tuple[str, list[str]]] = []
    exchange = [item for item in items if not isinstance(item, WorkflowItem)]
    following_of = dict(zip([i.id for i in exchange], [*exchange[1:], None], strict=True))
    for item in items:
        following = following_of.get(item.id)
        if isinstance(item, WorkflowItem):
            out.append(("user", [activity_line(item) or ""]))  # what the tools did, one line
        elif isinstance(item, UserMessageItem) and isinstance(following, UserMessageItem):
            # A message whose turn failed has no answer: the model is told not to act on it again.
            out.append(("user", [UNANSWERED_NOTE]))
        elif isinstance(item, UserMessageItem):
            out.append(("user", ["".join(getattr(part, "text", "") for part in item.content)]))
        elif isinstance(item, AssistantMessageItem):
            out.append(("assistant", [part.text for part in item.content]))
        elif isinstance(item, WidgetItem):
            rows = rows_of(item.widget)
            assert rows is not None
            out.append(("user", [format_task_list(rows)]))
    return out


def attachment_data(api: Api, body: dict[str, Any]) -> list[str]:
    """Every inline data URL the model was sent (images and files)."""
    messages = body["input"] if api == "responses" else body["messages"]
    urls: list[str] = []
    for message in messages:
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            if part["type"] == "input_image":
                urls.append(part["image_url"])
            elif part["type"] == "input_file":
                urls.append(part["file_data"])
            elif part["type"] == "image_url":
                urls.append(part["image_url"]["url"])
            elif part["type"] == "file":
                urls.append(part["file"]["file_data"])
    return urls


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_six_turns_with_tools_attachments_and_failures(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext, api: Api
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api, openai_api=api))
    alice = ChatClient(server, alice_ctx)
    path = "/v1/responses" if api == "responses" else "/v1/chat/completions"
    image_id = await upload(alice, "list.png", "image/png", PNG)

    # 1. An image, text before a tool call and an answer after it: two assistant messages in one turn.
    fake_api.script([Text("On it."), Call("add_task", {"title": "buy milk"})], [Text("Added buy milk.")])
    ev = await alice.create("add what is on this photo", attachments=[image_id])
    assert not ev.errors, ev.errors
    thread_id = ev.thread_id
    assert ev.reply == "On it.\nAdded buy milk."

    # 2. A plain tool turn.
    fake_api.script([Call("add_task", {"title": "call mom"})], [Text("Added call mom.")])
    ev = await alice.say(thread_id, "also call mom")
    assert not ev.errors and ev.reply == "Added call mom."

    # 3. The provider fails every attempt: an error event; the message stays for the next turn.
    fake_api.script(Fail(500), Fail(500), Fail(500))
    ev = await alice.say(thread_id, "what's on my list?")
    assert [e["message"] for e in ev.errors] == [MODEL_FAILED_MESSAGE]

    # 4. A list (a widget in the thread), after the failure.
    fake_api.script([Call("list_tasks", {"status": "all"})], [Text("You have two tasks.")])
    ev = await alice.say(thread_id, "list them please")
    assert not ev.errors and len(ev.widgets) == 1 and ev.reply == "You have two tasks."

    # 5. A PDF, and an answer cut off half way (the connection drops).
    pdf_id = await upload(alice, "receipt.pdf", "application/pdf", PDF)
    fake_api.script([Call("complete_task", {"task": "buy milk"})], Break("Marked it done.", after_deltas=1))
    ev = await alice.say(thread_id, "I bought the milk, here is the receipt", attachments=[pdf_id])
    assert [e["message"] for e in ev.errors] == [MODEL_FAILED_MESSAGE]
    assert await alice.titles() == {"buy milk": True, "call mom": False}

    # 6. Back to normal, and the whole history goes to the model as stored.
    fake_api.reset()
    fake_api.script([Text("You're welcome.", chunks=2)])
    ev = await alice.say(thread_id, "thanks")
    assert not ev.errors and ev.reply == "You're welcome."

    [last] = fake_api.requests
    assert last.path == path
    items = await alice.items(thread_id)
    sent, stored = conversation_sent(api, last.body), conversation_stored(items)
    assert sent == stored[:-1], "history converts losslessly (all but the answer it produced)"
    assert [t for role, [t, *_] in conversation_stored(items) if role == "assistant"] == [
        "On it.",
        "Added buy milk.",
        "Added call mom.",
        "You have two tasks.",
        "You're welcome.",
    ]
    sent_data = attachment_data(api, last.body)
    assert "data:image/png;base64," + base64.b64encode(PNG).decode() in sent_data
    assert "data:application/pdf;base64," + base64.b64encode(PDF).decode() in sent_data

    # Every stored item has its own id, issued by the store.
    ids = [item.id for item in items]
    # 12 messages and widgets, plus a workflow for each of the three turns whose tools changed tasks.
    assert len(ids) == len(set(ids)) == 15, [i.type for i in items]
    assert [i.type for i in items].count("workflow") == 3
    assert all(ID_PATTERN.match(item_id) for item_id in ids), ids
    assert "__fake_id__" not in json.dumps([i.model_dump(mode="json") for i in items])


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_streamed_events_carry_the_stored_id(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext, api: Api
) -> None:
    """The widget sees one id per message from its first event to its last, and it is the stored one."""
    server = build_chatkit_server(openai_settings(settings, fake_api, openai_api=api))
    alice = ChatClient(server, alice_ctx)
    fake_api.script([Text("First,", chunks=2), Call("list_tasks", {})], [Text("then second.", chunks=3)])
    ev = await alice.create("show my tasks")
    assert not ev.errors, ev.errors
    added = [e["item"]["id"] for e in ev.of("thread.item.added") if e["item"]["type"] == "assistant_message"]
    done = [item["id"] for item in ev.done_items if item["type"] == "assistant_message"]
    updated = {e["item_id"] for e in ev.of("thread.item.updated")}
    assert len(added) == 2 and added == done and updated == set(added)
    stored = [i.id for i in await alice.items(ev.thread_id) if isinstance(i, AssistantMessageItem)]
    assert stored == done

"""The production model path over HTTP: the real ``OpenAIResponsesModel`` (and the Chat Completions model)
talking to a fake OpenAI server on loopback, selected through Settings exactly as in production.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chatkit.types import UserMessageItem

from support.agent_chat import PNG, ChatClient, openai_settings, upload
from support.fake_openai import Call, FakeOpenAI, Text
from task_assistant.agent.listing import parse_task_list
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.context import RequestContext
from task_assistant.settings import Settings


def _input_texts(body: dict[str, Any]) -> list[str]:
    """Every text the model was sent in ``input`` (messages and tool outputs)."""
    out: list[str] = []
    for item in body.get("input", []):
        content = item.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out += [part["text"] for part in content if isinstance(part, dict) and "text" in part]
        if item.get("type") == "function_call_output":
            output = item["output"]
            out.append(output if isinstance(output, str) else json.dumps(output))
    return out


def _second_task_of_latest_list(body: dict[str, Any]) -> list[Call | Text]:
    """What a model does with "delete the second one": read the list it was shown, use that id."""
    lists = [rows for text in _input_texts(body) if (rows := parse_task_list(text))]
    assert lists, "the model was not shown the task list"
    return [Call("delete_task", {"task": lists[-1][1].id})]


async def test_whole_conversation_through_fake_openai(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)

    fake_api.script([Call("add_task", {"title": "buy milk"})], [Text("Added buy milk to your list.")])
    ev = await alice.create("Please add buy milk")
    assert not ev.errors, ev.errors
    thread_id = ev.thread_id
    assert ev.reply == "Added buy milk to your list."
    assert len(ev.deltas) >= 2
    assert "Adding \u201cbuy milk\u201d\u2026" in ev.progress
    assert await alice.titles() == {"buy milk": False}
    first, second = fake_api.requests
    # What the real SDK sent: our model name, the key, the user's words, the five task tools with schemas.
    assert first.path == "/v1/responses" and first.body["stream"] is True
    assert first.body["model"] == openai_server.settings.openai_model
    assert first.headers["authorization"] == "Bearer sk-test"
    assert "Please add buy milk" in _input_texts(first.body)
    tools = {t["name"]: t for t in first.body["tools"]}
    assert {"add_task", "list_tasks", "complete_task", "update_task", "delete_task"} <= set(tools)
    assert "title" in tools["add_task"]["parameters"]["properties"]
    assert "user" not in json.dumps(tools["add_task"]["parameters"]).lower(), "no tool may take a user"
    # The tool result went back to the model as a function_call_output with the stored task.
    outputs = [i for i in second.body["input"] if i.get("type") == "function_call_output"]
    assert len(outputs) == 1 and "buy milk" in json.dumps(outputs[0])
    assert (await openai_server.store.load_thread(thread_id, alice_ctx)).title == "Please add buy milk"

    fake_api.script([Call("add_task", {"title": "call mom"})], [Text("Added call mom.")])
    ev = await alice.say(thread_id, "Also call mom")
    assert not ev.errors and ev.reply == "Added call mom."
    assert await alice.titles() == {"buy milk": False, "call mom": False}

    fake_api.script([Call("list_tasks", {"status": "all"})], [Text("You have two tasks.")])
    ev = await alice.say(thread_id, "What's on my list?")
    assert not ev.errors and len(ev.widgets) == 1
    assert [i.type for i in await alice.items(thread_id)][-3:] == [
        "user_message",
        "widget",
        "assistant_message",
    ]

    fake_api.script([Call("complete_task", {"task": "buy milk"})], [Text("Done: buy milk.")])
    ev = await alice.say(thread_id, "Mark buy milk done")
    assert not ev.errors and ev.reply == "Done: buy milk."
    assert await alice.titles() == {"buy milk": True, "call mom": False}

    fake_api.script(
        [Call("update_task", {"task": "call mom", "title": "call mom tonight"})], [Text("Renamed.")]
    )
    ev = await alice.say(thread_id, "Rename call mom to call mom tonight")
    assert (
        not ev.errors and "Renaming \u201ccall mom\u201d to \u201ccall mom tonight\u201d\u2026" in ev.progress
    )
    assert await alice.titles() == {"buy milk": True, "call mom tonight": False}

    fake_api.reset()
    fake_api.script(_second_task_of_latest_list, [Text("Deleted it.")])
    ev = await alice.say(thread_id, "Delete the second one")
    assert not ev.errors and ev.reply == "Deleted it."
    # The list shown was [call mom, buy milk] (newest first): the second one is buy milk.
    assert await alice.titles() == {"call mom tonight": False}
    # History as the model saw it: earlier turns, the list as numbered text, the new message last.
    texts = _input_texts(fake_api.requests[0].body)
    assert texts[-1] == "Delete the second one"
    assert "Please add buy milk" in texts and "Added buy milk to your list." in texts

    items = await alice.items(thread_id)
    assert [i.type for i in items].count("user_message") == 6
    assert [i.type for i in items].count("assistant_message") == 6
    assert isinstance(items[0], UserMessageItem)


async def test_chat_completions_provider(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    """OPENAI_API=chat_completions with a base URL: OpenRouter/LiteLLM/vLLM style providers."""
    server = build_chatkit_server(
        openai_settings(settings, fake_api, openai_api="chat_completions", openai_model="some/model")
    )
    assert server.models.choice.kind == "openai_chat_completions"
    alice = ChatClient(server, alice_ctx)
    fake_api.script(
        [Call("add_task", {"title": "book dentist"})], [Text("Booked it on your list.", chunks=4)]
    )
    ev = await alice.create("add book dentist")
    assert not ev.errors, ev.errors
    assert ev.reply == "Booked it on your list."
    assert len(ev.deltas) >= 2
    assert await alice.titles() == {"book dentist": False}
    assert [r.path for r in fake_api.requests] == ["/v1/chat/completions"] * 2
    body = fake_api.requests[0].body
    assert body["model"] == "some/model" and body["stream"] is True
    assert {t["function"]["name"] for t in body["tools"]} >= {"add_task", "list_tasks"}
    tool_messages = [m for m in fake_api.requests[1].body["messages"] if m.get("role") == "tool"]
    assert len(tool_messages) == 1 and "book dentist" in json.dumps(tool_messages[0]["content"])


async def test_chat_completions_provider_gets_attachments_inline(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    """Images and PDFs reach a Chat Completions provider as data (it takes no file URLs)."""
    server = build_chatkit_server(openai_settings(settings, fake_api, openai_api="chat_completions"))
    assert server.attachment_delivery == "inline"
    alice = ChatClient(server, alice_ctx)
    image_id = await upload(alice, "photo.png", "image/png", PNG)
    pdf_id = await upload(alice, "receipt.pdf", "application/pdf", b"%PDF-1.4 receipt")
    fake_api.script([Text("Got both.")])
    ev = await alice.create("what are these?", attachments=[image_id, pdf_id])
    assert not ev.errors, ev.errors
    [user] = [m for m in fake_api.requests[0].body["messages"] if m["role"] == "user"]
    kinds = [part["type"] for part in user["content"]]
    assert "image_url" in kinds and "file" in kinds
    [file_part] = [p for p in user["content"] if p["type"] == "file"]
    assert (
        file_part["file"]["file_data"]
        == "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 receipt").decode()
    )

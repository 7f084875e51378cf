"""Retrying a turn regenerates its answer; it never carries out the message's request a second time."""

from __future__ import annotations

import json

from support.agent_chat import ChatClient, Events
from support.fake_openai import Call, FakeOpenAI, Text
from task_assistant.agent.offline.replies import with_offline_note
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.context import RequestContext


def _user_item(ev: Events) -> str:
    return next(item["id"] for item in ev.done_items if item["type"] == "user_message")


def _last_tool_output(api: FakeOpenAI) -> str:
    """The text of the last tool result the model was given (a string, or input_text parts)."""
    outputs = [i for i in api.requests[-1].body["input"] if i.get("type") == "function_call_output"]
    output = outputs[-1]["output"]
    return output if isinstance(output, str) else "".join(part.get("text", "") for part in output)


async def _retry(client: ChatClient, thread_id: str, item_id: str) -> Events:
    return await client.send(
        {"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": item_id}}
    )


async def test_retrying_an_add_does_not_add_again(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("add buy milk")
    thread_id, asked = ev.thread_id, _user_item(ev)
    [added] = await alice.tasks()

    for _ in range(2):
        again = await _retry(alice, thread_id, asked)
        assert not again.errors, again.errors
        # The regenerated answer is still the thread's first reply, so it carries the offline note.
        assert again.reply == with_offline_note("Added \u201cbuy milk\u201d to your list.")
        assert await alice.tasks() == [added], "still exactly the one task, untouched"
    kinds = [i.type for i in await alice.items(thread_id)]
    assert kinds == ["user_message", "workflow", "assistant_message"], "one answer, one record of the add"


async def test_retrying_a_complete_or_a_delete_does_not_repeat_it(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    thread_id = (await alice.create("add buy milk")).thread_id

    ev = await alice.say(thread_id, "complete buy milk")
    [completed] = await alice.tasks()
    assert completed.completed
    again = await _retry(alice, thread_id, _user_item(ev))
    assert not again.errors and again.reply == "Marked \u201cbuy milk\u201d as done. Nice work!"
    assert await alice.tasks() == [completed]

    ev = await alice.say(thread_id, "delete buy milk")
    assert ev.reply == "Deleted \u201cbuy milk\u201d." and await alice.tasks() == []
    again = await _retry(alice, thread_id, _user_item(ev))
    assert not again.errors and again.reply == "Deleted \u201cbuy milk\u201d.", "no 'not found' on the retry"
    assert await alice.tasks() == []


async def test_the_same_words_in_two_messages_are_two_requests(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    thread_id = (await alice.create("add buy milk")).thread_id
    ev = await alice.say(thread_id, "add buy milk")
    assert [t.title for t in await alice.tasks()] == ["buy milk", "buy milk"]
    await _retry(alice, thread_id, _user_item(ev))
    assert [t.title for t in await alice.tasks()] == ["buy milk", "buy milk"]


async def test_a_retry_reports_the_task_as_it_is_now_and_leaves_it_so(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    await openai_server.tasks.add(alice_ctx, "buy milk")
    fake_api.script([Call("complete_task", {"task": "buy milk"})], [Text("Done.")])
    ev = await alice.create("I bought the milk")
    [task] = await alice.tasks()
    assert task.completed
    # Meanwhile the user reopens it (the widget, another tab): a retry must not complete it again.
    reopened = await openai_server.tasks.reopen(alice_ctx, task.id)

    fake_api.script(
        [Call("complete_task", {"task": "buy milk"})], [Text("It was done; it's open again now.")]
    )
    again = await _retry(alice, ev.thread_id, _user_item(ev))
    assert not again.errors and again.reply == "It was done; it's open again now."
    assert await alice.tasks() == [reopened]
    reported = json.loads(_last_tool_output(fake_api))
    assert reported["task"]["id"] == task.id and reported["task"]["completed"] is False


async def test_a_retry_after_the_added_task_was_deleted_says_so(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script([Call("add_task", {"title": "buy milk"})], [Text("Added.")])
    ev = await alice.create("add buy milk")
    [task] = await alice.tasks()
    await openai_server.tasks.delete(alice_ctx, task.id)

    fake_api.script([Call("add_task", {"title": "buy milk"})], [Text("It was added, then deleted.")])
    again = await _retry(alice, ev.thread_id, _user_item(ev))
    assert not again.errors and await alice.tasks() == []
    assert "since been deleted" in _last_tool_output(fake_api)

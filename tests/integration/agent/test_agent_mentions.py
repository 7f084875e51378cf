"""@-mentions: a tagged task reaches the model as a precise reference, resolved when each turn runs; a tag
that names nothing of the caller's is a note to the model, never an error; the thread goes on working."""

from __future__ import annotations

import json
from typing import Any

from support.agent_chat import ChatClient, tagged
from support.fake_openai import Call, FakeOpenAI, Text
from task_assistant.agent.listing import TaggedTask, parse_tagged_tasks
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.context import RequestContext


def _sent_text(body: dict[str, Any]) -> str:
    return json.dumps(body["input"], ensure_ascii=False)


def _tags_sent(body: dict[str, Any]) -> list[TaggedTask]:
    texts = [
        part["text"]
        for item in body["input"]
        if isinstance(item.get("content"), list)
        for part in item["content"]
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    return [tag for text in texts for tag in parse_tagged_tasks(text)]


async def test_a_tagged_task_reaches_the_model_by_id_at_every_turn(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    older = await openai_server.tasks.add(alice_ctx, "buy milk")
    milk = await openai_server.tasks.add(alice_ctx, "buy milk")  # same title: only the id tells them apart

    def complete_the_tagged_one(body: dict[str, Any]) -> list[Call | Text]:
        [tag] = _tags_sent(body)
        return [Call("complete_task", {"task": tag.id})]

    fake_api.script(complete_the_tagged_one, [Text("Done.")])
    ev = await alice.post(None, tagged("mark ", (milk.id, "buy milk"), " as done"))
    assert not ev.errors, ev.errors
    first = fake_api.requests[0].body
    assert "mark @buy milk as done" in _sent_text(first), "the user's words, the tag as @title"
    assert _tags_sent(first) == [TaggedTask(mention="buy milk", id=milk.id, title="buy milk")]
    assert {t.id: t.completed for t in await alice.tasks()} == {milk.id: True, older.id: False}

    # Later turns still work, and the tag is resolved again each time: a rename shows, then a deletion.
    await openai_server.tasks.update(alice_ctx, milk.id, title="buy oat milk")
    fake_api.script([Text("Noted.")])
    ev = await alice.say(ev.thread_id, "thanks")
    assert not ev.errors
    assert _tags_sent(fake_api.requests[-1].body) == [
        TaggedTask(mention="buy milk", id=milk.id, title="buy oat milk", completed=True)
    ]
    await openai_server.tasks.delete(alice_ctx, milk.id)
    fake_api.script([Text("Still here.")])
    ev = await alice.say(ev.thread_id, "and now?")
    assert not ev.errors
    assert _tags_sent(fake_api.requests[-1].body) == [TaggedTask(mention="buy milk")]
    assert "Ignore this tag" in _sent_text(fake_api.requests[-1].body)


async def test_a_tag_naming_another_users_task_is_ignored_with_a_note(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext, bob_ctx: RequestContext
) -> None:
    secret = await openai_server.tasks.add(bob_ctx, "bob's secret plan")
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script([Text("I can't see that task.")])
    ev = await alice.post(
        None, tagged("delete ", (secret.id, "plan"), " and ", ("<not an id>", "whatever"), " please")
    )
    assert not ev.errors, "an unknown tag is never an error"
    body = fake_api.requests[0].body
    assert _tags_sent(body) == [TaggedTask(mention="plan"), TaggedTask(mention="whatever")]
    assert "secret" not in _sent_text(body), "nothing of bob's task reaches alice's model"
    assert (await openai_server.tasks.get(bob_ctx, secret.id)).title == "bob's secret plan"


async def test_the_offline_model_acts_on_the_tagged_task_itself(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    older = await offline_server.tasks.add(alice_ctx, "buy milk")
    milk = await offline_server.tasks.add(alice_ctx, "buy milk")
    ev = await alice.post(None, tagged("mark ", (older.id, "buy milk"), " as done"))
    assert not ev.errors
    assert ev.reply.startswith("Marked \u201cbuy milk\u201d as done"), "no which-one question: the tag says"
    assert {t.id: t.completed for t in await alice.tasks()} == {older.id: True, milk.id: False}
    # A tag whose task is gone is read as the words it shows.
    await offline_server.tasks.delete(alice_ctx, older.id)
    ev = await alice.post(ev.thread_id, tagged("delete ", (older.id, "buy milk")))
    assert not ev.errors and ev.reply == "Deleted \u201cbuy milk\u201d."
    assert await alice.tasks() == []

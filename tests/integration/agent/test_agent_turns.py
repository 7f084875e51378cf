"""A turn answers its own message: its history stops at it, and its answer is stored right under it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chatkit.types import InferenceOptions, UserMessageItem, UserMessageTextContent

from support.agent_chat import ChatClient
from support.fake_openai import FakeOpenAI, Text
from task_assistant.chat.converter import UNANSWERED_NOTE
from task_assistant.chat.ids import new_id
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.context import RequestContext


def _message(thread_id: str, text: str, at: datetime) -> UserMessageItem:
    return UserMessageItem(
        id=new_id("message"),
        thread_id=thread_id,
        created_at=at,
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(),
    )


async def test_a_turn_reads_up_to_its_own_message_and_answers_under_it(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script([Text("Hi there.")])
    thread_id = (await alice.create("hello")).thread_id
    # Another tab's messages: one sent just before this turn's (not answered yet), one just after it
    # (it sorts after this turn's message, but is stored before this turn reads its history).
    earlier = _message(thread_id, "add apples", datetime.now())
    later = _message(thread_id, "add pears", datetime.now() + timedelta(minutes=5))
    for other_tab in (earlier, later):
        await openai_server.store.add_thread_item(thread_id, other_tab, alice_ctx)

    fake_api.script([Text("Bananas it is.")])
    ev = await alice.say(thread_id, "add bananas")
    assert not ev.errors and ev.reply == "Bananas it is."

    sent = fake_api.requests[-1].body["input"]
    assert "add pears" not in json.dumps(sent), "nothing stored after the turn's message"
    assert "add bananas" in json.dumps(sent[-1]), "the input ends with the turn's own message"
    [apples] = [m for m in sent if "add apples" in json.dumps(m)]
    assert apples["content"][0] == {"type": "input_text", "text": UNANSWERED_NOTE}
    [hello] = [m for m in sent if "hello" in json.dumps(m)]
    assert UNANSWERED_NOTE not in json.dumps(hello), "an answered message is not marked"

    # items.list (a reload) shows the answer right under its question, before the later message.
    texts = []
    for item in await alice.items(thread_id):
        content = getattr(item, "content", [])
        texts.append(content[0].text if content else item.type)
    assert texts == ["hello", "Hi there.", "add apples", "add bananas", "Bananas it is.", "add pears"]

"""A conversation with the offline model over HTTP, as the widget has it: several tasks in one message,
equal titles told apart by position and short id, "the X one", an @-mention, "everything", deleting all
after a yes, the offline note once, and what the tools did still in the thread when it is read back."""

from __future__ import annotations

from typing import Any

import httpx

from support.web import ChatKitCaller, assistant_text, bearer, user_message
from task_assistant.agent.offline import OFFLINE_NOTE
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.tasks.models import short_id


def _tagged(*parts: str | tuple[str, str]) -> dict[str, Any]:
    content = [
        {"type": "input_text", "text": p}
        if isinstance(p, str)
        else {"type": "input_tag", "id": p[0], "text": p[1], "data": {}, "interactive": True}
        for p in parts
    ]
    return {"content": content, "quoted_text": "", "attachments": [], "inference_options": {}}


def test_a_whole_conversation_in_everyday_phrasings(chat_url: str, issuer: LocalIssuer, user: str) -> None:
    chat = ChatKitCaller(chat_url, issuer.mint(user))
    tasks_api = httpx.Client(base_url=chat_url, headers=bearer(issuer, user), timeout=30)

    def say(text_or_input: str | dict[str, Any]) -> str:
        user_input = user_message(text_or_input) if isinstance(text_or_input, str) else text_or_input
        events = chat.stream("threads.add_user_message", {"thread_id": thread_id, "input": user_input})
        assert not [e for e in events if e["type"] == "error"], events
        return assistant_text(events)

    def tasks() -> dict[str, dict[str, Any]]:
        return {t["id"]: t for t in tasks_api.get("/tasks", params={"limit": 100}).json()["tasks"]}

    try:
        thread_id, events = chat.new_thread("add three tasks: bread, eggs and jam")
        first = assistant_text(events)
        assert first == (
            "Added 3 tasks to your list: \u201cbread\u201d, \u201ceggs\u201d and \u201cjam\u201d.\n\n"
            + OFFLINE_NOTE
        )
        assert sorted(t["title"] for t in tasks().values()) == ["bread", "eggs", "jam"]

        assert say("add two tasks: buy milk and buy milk").startswith("Added 2 tasks")
        milk_new, milk_old = [t["id"] for t in tasks().values() if t["title"] == "buy milk"]  # newest first

        question = say("mark buy milk as done")
        assert question.startswith("Which one do you mean? 2 tasks match \u201cbuy milk\u201d:")
        assert short_id(milk_new) in question and short_id(milk_old) in question
        assert "Marked \u201cbuy milk\u201d as done" in say("the second one")
        assert tasks()[milk_old]["completed"] and not tasks()[milk_new]["completed"]
        assert "Deleted \u201cbuy milk\u201d" in say(f"delete {short_id(milk_old)}")
        assert milk_old not in tasks()

        assert say("delete the jam one") == "Deleted \u201cjam\u201d."
        bread = next(t for t in tasks().values() if t["title"] == "bread")
        assert (
            say(_tagged("rename ", (bread["id"], "bread"), " to rye bread"))
            == "Renamed it to \u201crye bread\u201d."
        )
        assert tasks()[bread["id"]]["title"] == "rye bread"

        done = say("I finished everything")
        assert done.startswith("Marked 3 tasks as done:") and all(t["completed"] for t in tasks().values())

        ask = say("delete everything")
        assert ask.startswith("Deleting can't be undone") and "all 3 tasks" in ask
        assert len(tasks()) == 3, "nothing is deleted before the yes"
        # Exactly the tasks of the list shown with the question, newest first.
        assert (
            say("yes") == "Deleted 3 tasks: \u201cbuy milk\u201d, \u201ceggs\u201d and \u201crye bread\u201d."
        )
        assert tasks() == {}

        # Read back as the widget does on reload: the answers, with what the tools did before each.
        items = chat.items(thread_id)
        replies = [i for i in items if i["type"] == "assistant_message"]
        assert sum(OFFLINE_NOTE in assistant_text([r]) for r in replies) == 1, "offline, said once"
        workflows = [i["workflow"] for i in items if i["type"] == "workflow"]
        titles = [t["title"] for w in workflows for t in w["tasks"]]
        assert "Added \u201cbread\u201d" in titles and "Deleted \u201cjam\u201d" in titles
        assert "Renamed it to \u201crye bread\u201d" in titles
        assert titles.count("Deleted \u201ceggs\u201d") == 1
    finally:
        chat.close()
        tasks_api.close()

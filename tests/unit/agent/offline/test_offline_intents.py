"""The offline model's understanding of everyday phrasings, without any I/O."""

from __future__ import annotations

import pytest

from task_assistant.agent.offline import Intent, ordinal_of, parse_intent
from task_assistant.agent.offline.naming import reference_answer

ID1 = "01JD0000000000000000000001"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("add buy milk", Intent("add", title="buy milk")),
        ("Add buy milk to my list.", Intent("add", title="buy milk")),
        ("remind me to call mom", Intent("add", title="call mom")),
        ("I need to water the plants", Intent("add", title="water the plants")),
        ("please add a task to book the dentist", Intent("add", title="book the dentist")),
        ("new task: pay rent", Intent("add", title="pay rent")),
        ("add buy milk with note: 2 litres", Intent("add", title="buy milk", notes="2 litres")),
        ("add \u201cbuy milk\u201d", Intent("add", title="buy milk")),
        ("what's on my list", Intent("list")),
        ("What\u2019s on my list?", Intent("list")),
        ("show my tasks", Intent("list")),
        ("list completed tasks", Intent("list", status="completed")),
        ("what's left", Intent("list", status="pending")),
        ("show me my pending to-dos", Intent("list", status="pending")),
        ("my tasks", Intent("list")),
        ("mark buy milk as done", Intent("complete", ref="buy milk")),
        ("I finished call mom", Intent("complete", ref="call mom")),
        ("I've done the laundry", Intent("complete", ref="laundry")),
        ("buy milk is done", Intent("complete", ref="buy milk")),
        ("check off #2", Intent("complete", ref="#2")),
        ("complete the first one", Intent("complete", ref="first one")),
        ("reopen buy milk", Intent("reopen", ref="buy milk")),
        ("mark buy milk as not done", Intent("reopen", ref="buy milk")),
        ("uncheck the second one", Intent("reopen", ref="second one")),
        ("rename buy milk to buy oat milk", Intent("rename", ref="buy milk", title="buy oat milk")),
        ("change the 2nd one to call dad", Intent("rename", ref="2nd one", title="call dad")),
        ("add a note to buy milk: semi-skimmed", Intent("notes", ref="buy milk", notes="semi-skimmed")),
        ("note for pay rent: before the 5th", Intent("notes", ref="pay rent", notes="before the 5th")),
        ("delete the second one", Intent("delete", ref="second one")),
        ("remove call mom from my list", Intent("delete", ref="call mom")),
        ("get rid of the last one", Intent("delete", ref="last one")),
        (f"delete {ID1}", Intent("delete", ref=ID1)),
        # Several new tasks in one message.
        ("add three tasks: bread, eggs and jam", Intent("add", titles=("bread", "eggs", "jam"), expected=3)),
        ("add tasks: salt and pepper, bread, jam", Intent("add", titles=("salt and pepper", "bread", "jam"))),
        ("add two tasks: milk and eggs", Intent("add", titles=("milk", "eggs"), expected=2)),
        ("add these: a; b; c", Intent("add", titles=("a", "b", "c"))),
        ("add:\n- milk\n- eggs", Intent("add", titles=("milk", "eggs"))),
        ("add buy milk and eggs", Intent("add", title="buy milk and eggs")),
        # "the X one" and friends.
        ("delete the milk one", Intent("delete", ref="milk")),
        ("complete the one called call mom", Intent("complete", ref="call mom")),
        ("reopen the done one", Intent("reopen", ref="done one")),
        # Everything, and several at once.
        ("I finished everything", Intent("complete", every="pending")),
        ("mark all as done", Intent("complete", every="pending")),
        ("I'm done with everything", Intent("complete", every="pending")),
        ("reopen all", Intent("reopen", every="completed")),
        ("delete everything", Intent("delete", every="all")),
        ("clear my list", Intent("delete", every="all")),
        ("delete all completed tasks", Intent("delete", every="completed")),
        ("clear completed", Intent("delete", every="completed")),
        ("complete the first and third ones", Intent("complete", refs=("first", "third"))),
        ("delete #x7k2 and #p9qa", Intent("delete", refs=("#x7k2", "#p9qa"))),
        ("mark buy milk and eggs as done", Intent("complete", ref="buy milk and eggs")),
        # Answers to a question.
        ("yes", Intent("yes")),
        ("yes, delete them", Intent("yes")),
        ("no, keep them", Intent("no")),
        ("hi", Intent("help")),
        ("what can you do?", Intent("help")),
        ("", Intent("help")),
    ],
)
def test_parse_intent(text: str, intent: Intent) -> None:
    assert parse_intent(text) == intent


@pytest.mark.parametrize(
    ("ref", "position"),
    [
        ("first one", 1),
        ("second one", 2),
        ("2nd", 2),
        ("#3", 3),
        ("number 4", 4),
        ("last one", -1),
        ("3", 3),
        ("buy milk", None),
        ("the second task", 2),
        ("number two", 2),
        ("second to last one", -2),
        ("#x7k2", None),
    ],
)
def test_ordinals(ref: str, position: int | None) -> None:
    assert ordinal_of(ref) == position


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("the first one", "first one"),
        ("#x7k2", "#x7k2"),
        ("the done one", "done one"),
        ("I mean the second one", "second"),
        ("2", "2"),
        ("the milk one", None),
        ("thanks", None),
    ],
)
def test_a_bare_reference_answers_which_one(text: str, answer: str | None) -> None:
    assert reference_answer(text) == answer

"""The offline model's understanding of everyday phrasings, without any I/O."""

from __future__ import annotations

import pytest

from task_assistant.agent.offline import Intent, ordinal_of, parse_intent

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
    ],
)
def test_ordinals(ref: str, position: int | None) -> None:
    assert ordinal_of(ref) == position

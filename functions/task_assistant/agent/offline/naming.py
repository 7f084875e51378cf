"""How people name tasks that exist: positions, states, "everything", short ids, tags and titles.

These phrases are shared by :mod:`.intents` (what the user asked) and :mod:`.references` (which tasks that
means): "the second one", "number two", "the last one", "the done one", "all completed tasks", "the milk
one" (a title), "#x7k2" (a short id), "@tag1" (a tag, see :data:`.references.TAG_KEY`).
"""

from __future__ import annotations

import re
from typing import Literal, cast

from task_assistant.tasks.models import TaskFilter, looks_like_task_id, short_id_of

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a pair of": 2,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "eleventh": 11, "twelfth": 12,
    "last": -1, "final": -1, "second to last": -2, "second-to-last": -2, "next to last": -2,
    "penultimate": -2, "one before last": -2,
}  # fmt: skip
_ORDINAL_REF = re.compile(
    r"^(?:the\s+)?(?:(?P<word>" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + r"|\d+(?:st|nd|rd|th))"
    r"(?:\s+(?:ones?|tasks?|items?|things?))?(?:\s+(?:on|in)\s+(?:the|my)\s+list)?"
    r"|(?:number|no\.?|#|task|item)\s*(?P<num>\d+|" + "|".join(w for w in NUMBER_WORDS if " " not in w) + r")"
    r"|(?P<bare>\d{1,3}))$",
    re.IGNORECASE,
)
_STATUS_WORDS = {
    "pending": "pending", "open": "pending", "remaining": "pending", "outstanding": "pending",
    "unfinished": "pending", "undone": "pending", "not done": "pending",
    "completed": "completed", "complete": "completed", "done": "completed", "finished": "completed",
    "checked": "completed", "ticked": "completed",
}  # fmt: skip
_STATUS = "(?:" + "|".join(sorted(_STATUS_WORDS, key=len, reverse=True)) + ")"
_STATUS_REF = re.compile(rf"^(?:the\s+)?(?P<status>{_STATUS})\s+(?:one|task|item)$", re.IGNORECASE)
_GROUP = r"(?:things?|tasks?|ones?|items?|to-?dos?|them)"
_EVERY_REF = re.compile(
    rf"^(?:(?:all|every|each)(?:\s+of)?(?:\s+(?:the|my|these|those))?(?:\s+(?P<s1>{_STATUS}))?(?:\s+{_GROUP})?"
    rf"|everything(?:\s+(?:on|in)\s+(?:my|the)\s+list)?(?:\s+(?:that(?:'s|\s+is)\s+|I'?ve\s+)?(?P<s2>{_STATUS}))?"
    r"|(?:whole|entire)\s+list|list|to-?do\s+list|task\s+list|lot|them|those|these"
    rf"|(?P<s3>{_STATUS})(?:\s+(?:things|tasks|ones|items|to-?dos))?)$",
    re.IGNORECASE,
)
_LIST_WORDS = r"(?:list|tasks?|to-?dos?|to-?do list|task list|things to do)"
_TRAILING_LIST = re.compile(r"\s+(?:from|off|on|to|in)\s+(?:my|the)\s+" + _LIST_WORDS + r"$", re.IGNORECASE)


def clean_text(text: str) -> str:
    """One line, plain apostrophes, no closing punctuation."""
    text = " ".join(text.replace("\u2019", "'").split())
    return text.strip().rstrip(".!?").strip()


def clean_title(text: str) -> str:
    text = _TRAILING_LIST.sub("", text.strip())
    text = text.strip().strip("\"'\u201c\u201d\u2018\u2019`").strip()
    return text


def clean_ref(text: str) -> str:
    """A reference as the planner wants it: "the milk one" -> "milk", "the task call mom" -> "call mom"."""
    text = clean_title(text)
    text = re.sub(r"^(?:the|my)\s+(?:task\s+)?", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^task\s+(?=\S)", "", text, flags=re.IGNORECASE)
    text = re.sub(
        r"^one\s+(?:about|called|named|titled|with|for|that\s+says)\s+", "", text, flags=re.IGNORECASE
    )
    if not (_ORDINAL_REF.match(text) or _STATUS_REF.match(text) or _EVERY_REF.match(text)):
        text = re.sub(r"\s+(?:one|task|item|to-?do)$", "", text, flags=re.IGNORECASE)
    return clean_title(text)


def ordinal_of(ref: str) -> int | None:
    """1-based position for "the second one", "#2", "number two"...; -1 for "the last one"; else None."""
    match = _ORDINAL_REF.match(ref.strip())
    if not match:
        return None
    if match["num"] or match["bare"]:
        number = (match["num"] or match["bare"]).lower()
        return int(number) if number.isdigit() else NUMBER_WORDS[number]
    word = " ".join(match["word"].lower().split())
    if word in _ORDINALS:
        return _ORDINALS[word]
    return int(re.sub(r"\D", "", word))


def status_of(ref: str) -> Literal["pending", "completed"] | None:
    """The state "the done one" / "the pending one" picks, or None."""
    match = _STATUS_REF.match(ref.strip())
    return cast(Literal["pending", "completed"], _STATUS_WORDS[match["status"].lower()]) if match else None


def every_of(ref: str) -> TaskFilter | Literal["default"] | None:
    """For "everything" / "all completed tasks": the state named, ``"default"`` if none; else None."""
    match = _EVERY_REF.match(ref.strip())
    if not match:
        return None
    word = match["s1"] or match["s2"] or match["s3"]
    return cast(TaskFilter, _STATUS_WORDS[word.lower()]) if word else "default"


def is_reference(ref: str) -> bool:
    """A reference that cannot be part of a title: a position, a short id, a task id or a tag."""
    ref = ref.strip()
    return bool(
        ordinal_of(ref) is not None
        or short_id_of(ref)
        or looks_like_task_id(ref)
        or status_of(ref)
        or (ref.startswith("@") and len(ref) > 1)
    )


def split_refs(ref: str) -> tuple[str, ...]:
    """Several references in one ("the first and third ones") when every part is one; else ``()``."""
    parts = [clean_ref(p) for p in re.split(r"\s*(?:,|&|\band\b|\bplus\b)\s*", ref) if p.strip()]
    if len(parts) < 2:
        return ()
    # "the first and third ones": the plural belongs to every part.
    parts = [re.sub(r"\s+ones$", "", p, flags=re.IGNORECASE) for p in parts]
    return tuple(parts) if all(is_reference(p) for p in parts) else ()


def reference_answer(text: str) -> str | None:
    """A message that only names a task ("the first one", "#x7k2", "the done one"), as the answer to
    "which one do you mean?"; None for anything else."""
    ref = clean_ref(clean_text(text))
    ref = re.sub(r"^(?:i\s+mean|i\s+meant|it'?s|that'?s)\s+", "", ref, flags=re.IGNORECASE)
    ref = clean_ref(ref)
    return ref if ref and is_reference(ref) else None

"""Understanding one message: everyday phrasings -> an :class:`Intent` (see the package docstring).

The phrasings are regular expressions tried in order (the first match wins); references to existing
tasks stay as the user wrote them ("buy milk", "the second one", an id) and are resolved by the planner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from task_assistant.tasks.models import TaskFilter

IntentKind = Literal["help", "add", "list", "complete", "reopen", "rename", "notes", "delete"]


@dataclass(frozen=True)
class Intent:
    """What the user asked for. ``ref`` names an existing task (title, id or ordinal phrase)."""

    kind: IntentKind
    title: str | None = None
    ref: str | None = None
    notes: str | None = None
    status: TaskFilter = "all"


_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "last": -1, "final": -1,
}  # fmt: skip
_ORDINAL_REF = re.compile(
    r"^(?:the\s+)?(?:(?P<word>" + "|".join(_ORDINALS) + r"|\d+(?:st|nd|rd|th))"
    r"(?:\s+(?:one|task|item|thing))?(?:\s+on\s+(?:the|my)\s+list)?"
    r"|(?:number|no\.?|#|task|item)\s*(?P<num>\d+)|(?P<bare>\d{1,3}))$",
    re.IGNORECASE,
)
_LIST_WORDS = r"(?:list|tasks?|to-?dos?|to-?do list|task list|things to do)"
_TRAILING_LIST = re.compile(r"\s+(?:from|off|on|to|in)\s+(?:my|the)\s+" + _LIST_WORDS + r"$", re.IGNORECASE)


def _clean_text(text: str) -> str:
    text = " ".join(text.replace("\u2019", "'").split())
    return text.strip().rstrip(".!?").strip()


def _clean_title(text: str) -> str:
    text = _TRAILING_LIST.sub("", text.strip())
    text = text.strip().strip("\"'\u201c\u201d\u2018\u2019`").strip()
    return text


def _clean_ref(text: str) -> str:
    text = _clean_title(text)
    text = re.sub(r"^(?:the|my)\s+(?:task\s+)?", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^task\s+(?=\S)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+task$", "", text, flags=re.IGNORECASE) if not _ORDINAL_REF.match(text) else text
    return _clean_title(text)


def ordinal_of(ref: str) -> int | None:
    """1-based position for "the second one", "#2", "number 2"...; -1 for "the last one"; else None."""
    match = _ORDINAL_REF.match(ref.strip())
    if not match:
        return None
    if match["num"] or match["bare"]:
        return int(match["num"] or match["bare"])
    word = match["word"].lower()
    if word in _ORDINALS:
        return _ORDINALS[word]
    return int(re.sub(r"\D", "", word))


def _split_notes(text: str) -> tuple[str, str | None]:
    """``"buy milk with note: 2 litres"`` -> ("buy milk", "2 litres")."""
    match = re.match(
        r"^(?P<title>.+?)\s*(?:,?\s+with\s+(?:a\s+|the\s+)?notes?|\(\s*notes?)\s*[:\-\u2013]?\s*(?P<notes>.+?)\)?$",
        text,
        re.IGNORECASE,
    )
    if match:
        return match["title"], match["notes"]
    return text, None


_PATTERNS: list[tuple[IntentKind, re.Pattern[str]]] = [
    (cast(IntentKind, kind), re.compile(pattern, re.IGNORECASE))
    for kind, pattern in [
        # The first match wins, so specific phrasings come first: reopen's "mark X as not done" before
        # complete's "mark X as done", "I need to do X" (add) after the list questions, and the bare
        # "... tasks" list pattern last.
        (
            "rename",
            r"^(?:rename|retitle|change|update)\s+(?:the\s+title\s+of\s+)?(?P<ref>.+?)\s+(?:to|into|as)\s+(?P<title>.+)$",
        ),
        (
            "notes",
            r"^(?:add|put|attach|set)\s+(?:a\s+|the\s+)?notes?\s+(?:to|on|for)\s+(?P<ref>.+?)\s*[:\u2013\-]\s*(?P<notes>.+)$",
        ),
        ("notes", r"^notes?\s+(?:for|on|to)\s+(?P<ref>.+?)\s*:\s*(?P<notes>.+)$"),
        (
            "reopen",
            r"^(?:reopen|re-open|uncheck|untick|unmark|undo|restore)\s+(?P<ref>.+?)(?:\s+as\s+(?:not\s+done|pending|open))?$",
        ),
        (
            "reopen",
            r"^(?:mark|set|put)\s+(?P<ref>.+?)\s+(?:as\s+|back\s+to\s+)?(?:not\s+(?:yet\s+)?(?:done|complete|completed|finished)|undone|pending|incomplete|open|to\s?do)$",
        ),
        ("reopen", r"^(?P<ref>.+?)\s+is\s+(?:not|n't)\s+(?:done|finished|complete|completed)(?:\s+yet)?$"),
        (
            "complete",
            r"^(?:mark|set|put)\s+(?P<ref>.+?)\s+(?:as\s+)?(?:done|complete|completed|finished|checked)$",
        ),
        ("complete", r"^(?:complete|finish|check\s+off|tick\s+off|cross\s+off)\s+(?P<ref>.+)$"),
        ("complete", r"^(?:i(?:'ve|\s+have)?\s+(?:just\s+)?(?:finished|completed|done|did))\s+(?P<ref>.+)$"),
        ("complete", r"^(?:done\s+with|finished\s+with)\s+(?P<ref>.+)$"),
        ("complete", r"^(?P<ref>.+?)\s+is\s+(?:done|finished|complete|completed)$"),
        (
            "delete",
            r"^(?:please\s+)?(?:delete|remove|drop|erase|trash|scrap|get\s+rid\s+of|forget(?:\s+about)?)\s+(?P<ref>.+)$",
        ),
        (
            "list",
            r"^(?:what(?:'s|\s+is|\s+are)|whats)\s+(?:on\s+)?(?:my|the)\s+(?P<rest>.*?)(?:list|tasks?|to-?dos?|plate|agenda)\b.*$",
        ),
        (
            "list",
            r"^(?:please\s+)?(?:show|list|display|see|view|get|give)(?:\s+me)?(?:\s+(?:all|all\s+of|everything\s+on))?(?:\s+(?:my|the))?\s*(?P<rest>.*?)(?:list|tasks?|to-?dos?|items)\b.*$",
        ),
        (
            "list",
            r"^(?:what\s+do\s+i\s+(?:have|need)\s+to\s+do|what(?:'s|\s+is)\s+(?P<rest>left|remaining|pending|done|completed)).*$",
        ),
        (
            "add",
            r"^(?:please\s+)?(?:remind\s+me\s+to|i\s+(?:need|have|must|should|want)\s+to|don'?t\s+(?:let\s+me\s+)?forget\s+to)\s+(?P<title>.+)$",
        ),
        (
            "add",
            r"^(?:please\s+)?(?:add|create|new)\s+(?:a\s+)?(?:new\s+)?(?:task|to-?do|item|reminder)?\s*(?:(?:to|for|called|named)\s+)?:?\s*(?P<title>.+?)$",
        ),
        ("add", r"^(?:task|to-?do)\s*:\s*(?P<title>.+)$"),
        ("list", r"^(?:my\s+)?(?P<rest>.*?)(?:tasks|to-?dos|list)\??$"),
    ]
]
_GREETING = re.compile(
    r"^(?:hi|hello|hey|yo|hiya|good\s+(?:morning|afternoon|evening)|help|\?)\b", re.IGNORECASE
)


def _status_from(words: str) -> TaskFilter:
    lowered = words.lower()
    if re.search(
        r"\b(?:pending|open|remaining|left|outstanding|incomplete|not\s+done|unfinished)\b", lowered
    ):
        return "pending"
    if re.search(r"\b(?:completed|done|finished|closed)\b", lowered):
        return "completed"
    return "all"


def parse_intent(text: str) -> Intent:
    """Understand one user message (see the module docstring for the phrasings)."""
    cleaned = _clean_text(text)
    if not cleaned:
        return Intent("help")
    # Polite prefixes do not change the meaning.
    cleaned = re.sub(r"^(?:ok(?:ay)?|please|could you|can you|would you|hey)[,\s]+", "", cleaned, flags=re.I)
    cleaned = re.sub(r"^(?:please)[,\s]+", "", cleaned, flags=re.I)
    for kind, pattern in _PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        groups = match.groupdict()
        if kind == "list":
            return Intent("list", status=_status_from(groups.get("rest") or ""))
        if kind == "add":
            title, notes = _split_notes(groups["title"])
            title = _clean_title(title)
            if not title or _GREETING.match(cleaned):
                continue
            return Intent("add", title=title, notes=_clean_title(notes) if notes else None)
        ref = _clean_ref(groups["ref"])
        if not ref:
            continue
        if kind == "rename":
            return Intent("rename", ref=ref, title=_clean_title(groups["title"]))
        if kind == "notes":
            return Intent("notes", ref=ref, notes=groups["notes"].strip())
        return Intent(kind, ref=ref)
    return Intent("help")

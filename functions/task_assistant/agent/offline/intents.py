"""Understanding one message: everyday phrasings -> an :class:`Intent` (see the package docstring).

The phrasings are regular expressions tried in order (the first match wins); references to existing
tasks stay as the user wrote them ("buy milk", "the second one", "#x7k2", an id, "@…" for a tag) and are
resolved by the planner. A few shapes are understood beyond one task per message:

- several new tasks: "add three tasks: a, b and c", "add these: a; b; c", or one per line after "add:";
- several existing tasks: "complete the first and third ones", "delete #x7k2 and #p9qa";
- every task: "I finished everything", "delete all completed tasks", "clear my list" (:attr:`Intent.every`);
- "the milk one", "the one called milk" (a title), "the done one" (a state, to pick among candidates);
- "yes" / "no", which only mean something as the answer to a question the assistant asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from task_assistant.agent.offline.naming import (
    NUMBER_WORDS,
    clean_ref,
    clean_text,
    clean_title,
    every_of,
    split_refs,
)
from task_assistant.tasks.models import TaskFilter

IntentKind = Literal["help", "add", "list", "complete", "reopen", "rename", "notes", "delete", "yes", "no"]

ADD_MAX_TASKS = 20
"""Most new tasks one message adds (the rest are left out, and the reply says so)."""


@dataclass(frozen=True)
class Intent:
    """What the user asked for. ``ref`` names an existing task (title, id, short id or ordinal phrase)."""

    kind: IntentKind
    title: str | None = None
    ref: str | None = None
    notes: str | None = None
    status: TaskFilter = "all"
    titles: tuple[str, ...] = ()
    """add: the tasks of a message that names several ("add three tasks: a, b and c")."""
    expected: int | None = None
    """add: how many tasks the user said they were adding ("three"), when they said so."""
    refs: tuple[str, ...] = ()
    """Several existing tasks at once ("the first and third ones")."""
    every: TaskFilter | None = None
    """Every task in this state ("everything", "all completed tasks"); ``all`` means every task."""
    confirmed: bool = False
    """delete every task: the user said yes when asked (set by the planner, never by a phrasing)."""

    @property
    def new_titles(self) -> tuple[str, ...]:
        return self.titles or ((self.title,) if self.title else ())

    @property
    def targets(self) -> tuple[str, ...]:
        return self.refs or ((self.ref,) if self.ref else ())


_YES = re.compile(
    r"^(?:y|yes|yeah|yep|yup|sure|ok(?:ay)?|confirm(?:ed)?|go\s+ahead|do\s+it|please\s+do|i'?m\s+sure)"
    r"(?:[,!\s]+(?:please|go\s+ahead|do\s+it|i'?m\s+sure|delete\s+(?:them|all(?:\s+of\s+them)?|everything)))*$",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(?:n|no|nope|nah|cancel|never\s*mind|don'?t|stop|keep\s+them|no[,\s]+(?:thanks|keep\s+them|don'?t))$",
    re.IGNORECASE,
)


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


# -- several new tasks -------------------------------------------------------------------------------

_COUNT = (
    r"(?P<count>\d{1,2}|" + "|".join(NUMBER_WORDS) + r"|a\s+few|some|several|multiple|these|the\s+following)"
)
_MANY = [
    re.compile(
        r"^(?:please\s+)?(?:add|create|new|put)\s+(?:" + _COUNT + r"\s+)?(?:new\s+)?"
        r"(?:tasks|to-?dos|items|reminders|things)(?:\s+(?:to|on)\s+(?:my|the)\s+list)?\s*[:\-\u2013]\s*(?P<items>.+)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:please\s+)?(?:add|create|new|put)\s+"
        + _COUNT
        + r"(?:\s+new)?\s+(?:tasks|to-?dos|items|things)\s+"
        r"(?P<items>.+)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:please\s+)?(?:add|create|put)\s+(?:these|the\s+following)(?:\s+(?:to|on)\s+(?:my|the)\s+list)?"
        r"\s*:\s*(?P<items>.+)$",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:new\s+)?(?:tasks|to-?dos)\s*:\s*(?P<items>.+)$", re.IGNORECASE),
]


def _count_of(word: str | None) -> int | None:
    if not word:
        return None
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word)


def _split_items(items: str, expected: int | None) -> list[str]:
    """The titles of a list the user wrote: "a; b; c", "a, b and c", "a and b"."""
    if ";" in items:
        parts = items.split(";")
    elif "," in items:
        parts = items.split(",")
        last = re.sub(r"^\s*and\s+", "", parts[-1])  # "a, b, and c"
        split_last = re.split(r"\s+and\s+", last)
        # "a, b and c" is three; with a count, only split where it makes the count come out right.
        if len(split_last) > 1 and (expected is None or len(parts) - 1 + len(split_last) == expected):
            parts = [*parts[:-1], *split_last]
        else:
            parts[-1] = last
    else:
        parts = re.split(r"\s+(?:and|&|plus)\s+", items)
    titles = [clean_title(re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s*", "", p)) for p in parts]
    return [t for t in titles if t]


def _several_new(cleaned: str) -> Intent | None:
    for pattern in _MANY:
        match = pattern.match(cleaned)
        if match:
            groups = match.groupdict()
            expected = _count_of(groups.get("count"))
            titles = _split_items(match["items"], expected)
            if len(titles) >= 2 or (titles and expected == 1):
                if len(titles) == 1:
                    return Intent("add", title=titles[0])
                return Intent("add", titles=tuple(titles), expected=expected)
    return None


def _lines_joined(text: str) -> str:
    """A message of several lines ("add:" then one task per line) as one line with ``;`` between tasks."""
    lines = [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    if len(lines) < 2:
        return text
    head, items = lines[0], [re.sub(r"^(?:[-*\u2022]|\d+[.)])\s*", "", line) for line in lines[1:]]
    bare_add = r"(?:please\s+)?(?:add|create|new)(?:\s+(?:these|the\s+following|tasks|to-?dos))*\s*:?"
    if re.fullmatch(bare_add, head, re.IGNORECASE):
        return "add tasks: " + "; ".join(items)
    if head.endswith(":"):
        return head + " " + "; ".join(items)
    return " ".join(lines)


# -- one request ------------------------------------------------------------------------------------

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
        (
            "reopen",
            r"^(?P<ref>.+?)\s+(?:is|are)\s+(?:not|n't)\s+(?:done|finished|complete|completed)(?:\s+yet)?$",
        ),
        (
            "complete",
            r"^(?:mark|set|put)\s+(?P<ref>.+?)\s+(?:as\s+)?(?:done|complete|completed|finished|checked)$",
        ),
        ("complete", r"^(?:complete|finish|check\s+off|tick\s+off|cross\s+off)\s+(?P<ref>.+)$"),
        ("complete", r"^(?:i(?:'ve|\s+have)?\s+(?:just\s+)?(?:finished|completed|done|did))\s+(?P<ref>.+)$"),
        ("complete", r"^(?:(?:i'?m|i\s+am)\s+)?(?:done\s+with|finished\s+with)\s+(?P<ref>.+)$"),
        ("complete", r"^(?P<ref>.+?)\s+(?:is|are)\s+(?:all\s+)?(?:done|finished|complete|completed)$"),
        (
            "delete",
            r"^(?:please\s+)?(?:delete|remove|drop|erase|trash|scrap|get\s+rid\s+of|forget(?:\s+about)?)\s+(?P<ref>.+)$",
        ),
        ("delete", r"^(?:please\s+)?(?:clear|empty|wipe)(?:\s+out)?\s+(?P<ref>.+)$"),
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


def _about_tasks(kind: IntentKind, raw_ref: str) -> Intent | None:
    """complete/reopen/delete... of one task, several, or every task in some state."""
    ref = clean_ref(raw_ref)
    if not ref:
        return None
    every = every_of(ref)
    if every is not None and kind in ("complete", "reopen", "delete"):
        default: dict[str, TaskFilter] = {"complete": "pending", "reopen": "completed", "delete": "all"}
        return Intent(kind, every=default[kind] if every == "default" else every)
    refs = split_refs(raw_ref) if kind in ("complete", "reopen", "delete") else ()
    if refs:
        return Intent(kind, refs=refs)
    return Intent(kind, ref=ref)


def _from_match(kind: IntentKind, groups: dict[str, str | None], cleaned: str) -> Intent | None:
    """The intent a phrasing matched, or None when what it captured makes no sense (try the next)."""
    if kind == "list":
        return Intent("list", status=_status_from(groups.get("rest") or ""))
    if kind == "add":
        title, notes = _split_notes(groups["title"] or "")
        title = clean_title(title)
        if not title or _GREETING.match(cleaned):
            return None
        return Intent("add", title=title, notes=clean_title(notes) if notes else None)
    ref = clean_ref(groups["ref"] or "")
    if not ref:
        return None
    if kind == "rename":
        return Intent("rename", ref=ref, title=clean_title(groups["title"] or ""))
    if kind == "notes":
        return Intent("notes", ref=ref, notes=(groups["notes"] or "").strip())
    return _about_tasks(kind, groups["ref"] or "")


def parse_intent(text: str) -> Intent:
    """Understand one user message (see the module docstring for the phrasings)."""
    cleaned = clean_text(_lines_joined(text))
    # Polite prefixes do not change the meaning.
    cleaned = re.sub(r"^(?:ok(?:ay)?|please|could you|can you|would you|hey)[,\s]+", "", cleaned, flags=re.I)
    cleaned = re.sub(r"^(?:please)[,\s]+", "", cleaned, flags=re.I)
    if _YES.match(cleaned) or _NO.match(cleaned):
        return Intent("yes" if _YES.match(cleaned) else "no")
    several = _several_new(cleaned) if cleaned else None
    if several is not None:
        return several
    for kind, pattern in _PATTERNS if cleaned else []:
        match = pattern.match(cleaned)
        intent = _from_match(kind, match.groupdict(), cleaned) if match else None
        if intent is not None:
            return intent
    return Intent("help")

"""The two questions the offline model can ask, and how it reads them back when the user answers.

"Which one do you mean?" lists the tasks a reference matched, numbered, each with its short id; the
answer ("the second one", "#x7k2", "the done one") picks one of them. "Deleting can't be undone…" asks
before deleting every task. Both are plain text in the thread, so the next turn finds them in its input
(:mod:`.conversation`); the format and the parser live side by side here so they cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from task_assistant.agent.listing import ListedTask
from task_assistant.tasks.models import short_id

WHICH_OPENING = "Which one do you mean?"
CONFIRM_DELETE_OPENING = "Deleting can't be undone"

_WHICH_LINE = re.compile(r"^(\d+)\. (.*) \((#[0-9a-z]+), (done|not done)\)$", re.MULTILINE)


def quoted(title: object) -> str:
    return f"\u201c{' '.join(str(title).split())}\u201d"


def joined(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- questions --------------------------------------------------------------------------------------


def which_question(ref: str, candidates: Sequence[tuple[str, str, bool]]) -> str:
    """Ask which of several tasks a reference meant, numbered, each with its short id."""
    titles = {title for _, title, _ in candidates}
    about = quoted(next(iter(titles))) if len(titles) == 1 else quoted(ref.lstrip("@"))
    lines = [
        f"{n}. {' '.join(title.split())} ({short_id(task_id)}, {'done' if completed else 'not done'})"
        for n, (task_id, title, completed) in enumerate(candidates, start=1)
    ]
    example = short_id(candidates[-1][0])
    return (
        f"{WHICH_OPENING} {len(candidates)} tasks match {about}:\n" + "\n".join(lines) + "\n"
        "Say \u201cthe first one\u201d, \u201cthe second one\u201d or a short id such as "
        f"\u201c{example}\u201d."
    )


def candidates_asked(text: str) -> list[ListedTask] | None:
    """The candidates of a :func:`which_question` in ``text`` (ids are short ids), or None."""
    if WHICH_OPENING not in text:
        return None
    rows = [ListedTask(id=m[3], title=m[2], completed=m[4] == "done") for m in _WHICH_LINE.finditer(text)]
    return rows or None


def confirm_delete_question(count: int) -> str:
    return (
        f"{CONFIRM_DELETE_OPENING}, so I'll ask first: delete all {plural(count, 'task')} shown above? "
        "Say \u201cyes\u201d to delete them, or \u201cno\u201d to keep them."
    )


def asks_to_confirm_delete(text: str) -> bool:
    return CONFIRM_DELETE_OPENING in text

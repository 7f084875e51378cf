"""Which task a reference means: a tag, a short id, an id, a position or state in the latest list, a title.

The planner passes the result to the task tools as their ``task`` argument. Titles and short ids stay as
the user wrote them (the tools resolve them among the user's tasks and say when a title is ambiguous);
positions ("the second one") and states ("the done one") become the id of that row of the most recent
list the user saw, which may be the candidates of the model's own "which one do you mean?".
"""

from __future__ import annotations

from dataclasses import dataclass

from task_assistant.agent.listing import ListedTask, TaggedTask
from task_assistant.agent.offline.conversation import Conversation
from task_assistant.agent.offline.naming import ordinal_of, status_of
from task_assistant.agent.offline.questions import plural
from task_assistant.tasks.models import looks_like_task_id, short_id_of

TAG_KEY = "@tag{}"
"""How a tag stands in the message while it is parsed ("mark @tag1 as done"): a tag's own text may contain
words the phrasings react to ("@milk and eggs")."""


@dataclass(frozen=True)
class NeedList:
    """A position or state was named with no list in sight: the tasks must be listed first."""


@dataclass(frozen=True)
class Unclear:
    """The reference cannot be resolved; ``text`` says why (the answer to the user)."""

    text: str


def with_tag_keys(text: str, tags: list[TaggedTask]) -> tuple[str, dict[str, TaggedTask]]:
    """``"mark @buy milk as done"`` -> ``("mark @tag1 as done", {"@tag1": tag})``; longest mentions first."""
    keys: dict[str, TaggedTask] = {}
    for number, tag in enumerate(sorted(tags, key=lambda t: len(t.mention), reverse=True), start=1):
        mention = f"@{tag.mention}"
        if tag.mention and mention in text:
            key = TAG_KEY.format(number)
            text = text.replace(mention, key)
            keys[key] = tag
    return text, keys


def resolve(ref: str, conv: Conversation, tags: dict[str, TaggedTask]) -> str | NeedList | Unclear:
    """What to pass as the tool's ``task`` for ``ref`` (see the module docstring)."""
    ref = ref.strip()
    if ref.lower() in tags:
        tag = tags[ref.lower()]
        # A tag that names no task of the user's is ignored: what it says is taken as a title.
        return tag.id or tag.mention
    if short_id_of(ref):
        return ref.lower()
    if looks_like_task_id(ref):
        return ref.upper()
    if ordinal_of(ref) is None and status_of(ref) is None:
        return ref[1:] if ref.startswith("@") and len(ref) > 1 else ref
    if conv.latest_list is None:
        return NeedList()
    return _in_list(ref, conv.latest_list)


def _in_list(ref: str, rows: list[ListedTask]) -> str | Unclear:
    """The row a position ("the second one") or a state ("the done one") picks in ``rows``."""
    shown = plural(len(rows), "task")
    state = status_of(ref)
    if state is not None:
        matching = [row for row in rows if row.completed == (state == "completed")]
        if len(matching) == 1:
            return matching[0].id
        are = f"{plural(len(matching), 'task')} {'is' if len(matching) == 1 else 'are'}"
        word = "done" if state == "completed" else "not done"
        return Unclear(
            f"In the last list I showed, {are} {word}, so I can't tell which one you mean. "
            "Say its number or its short id."
        )
    position = ordinal_of(ref) or 0
    index = len(rows) + position if position < 0 else position - 1
    if not 0 <= index < len(rows):
        no_such = f", so there is no task number {position}" if position > 0 else ""
        return Unclear(f"The last list I showed has {shown}{no_such}.")
    return rows[index].id

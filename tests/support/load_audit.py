"""Many users chatting at once over real HTTP, then an audit of everything through the API.

:func:`run_load` runs ``users`` conversations concurrently, each ``turns`` turns long in one thread of its
own (a ``threads.create``, then ``threads.add_user_message``), every message asking to add a task with a
title unique to that user and turn. It records what the client saw of each turn.

:func:`audit` then reads every user's threads, items and tasks back through the API (as each user) and
counts what went wrong:

- ``lost``: a user message or an answer the client saw acknowledged (``thread.item.done``) that is not
  stored, or a task an answer said was added that the user does not have;
- ``duplicated``: a message stored twice, a task added twice, an item id twice in a thread;
- ``misattributed``: a message in the wrong thread, an answer about another turn's task, a task no turn of
  this user asked for;
- ``cross_user``: anything of another user in this user's threads, items or tasks, or another user's
  thread readable by this user.

Used by the reliability tests (small) and ``bench/reliability_bench.py`` (50 users x 5 turns).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Outcome = Literal["completed", "clean_error", "unclean"]
ADDED = re.compile(r"Added \u201c(?P<title>[^\u201d]+)\u201d")


def title_for(user: str, turn: int) -> str:
    return f"errand {user} n{turn}"


def message_for(user: str, turn: int) -> str:
    return f"add {title_for(user, turn)}"


def user_input(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "quoted_text": "",
        "attachments": [],
        "inference_options": {},
    }


@dataclass
class TurnRecord:
    """What the client saw of one turn."""

    user: str
    index: int
    thread_id: str | None
    status: int | None = None
    error_code: str | None = None
    retry_after: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    transport_error: str | None = None

    @property
    def title(self) -> str:
        return title_for(self.user, self.index)

    def _done(self, kind: str) -> dict[str, Any] | None:
        return next(
            (
                e["item"]
                for e in self.events
                if e.get("type") == "thread.item.done" and e["item"]["type"] == kind
            ),
            None,
        )

    @property
    def user_item_id(self) -> str | None:
        item = self._done("user_message")
        return None if item is None else str(item["id"])

    @property
    def reply(self) -> dict[str, Any] | None:
        return self._done("assistant_message")

    @property
    def error_event(self) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("type") == "error"), None)

    @property
    def outcome(self) -> Outcome:
        """completed: answered, no error; clean_error: a retryable error event, or 503/429 + Retry-After."""
        if self.transport_error is not None:
            return "unclean"
        if self.status != 200:
            clean = self.status in (429, 503) and self.retry_after is not None and self.error_code is not None
            return "clean_error" if clean else "unclean"
        error = self.error_event
        if error is not None:
            return "clean_error" if error.get("allow_retry") is True else "unclean"
        return "completed" if self.reply is not None else "unclean"


def text_of(item: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in item.get("content", []))


async def _turn(
    client: httpx.AsyncClient, token: str, user: str, index: int, thread_id: str | None
) -> TurnRecord:
    record = TurnRecord(user=user, index=index, thread_id=thread_id)
    text = message_for(user, index)
    if thread_id is None:
        body: dict[str, Any] = {"type": "threads.create", "params": {"input": user_input(text)}}
    else:
        body = {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_input(text)},
        }
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with client.stream("POST", "/chatkit", json=body, headers=headers) as response:
            record.status = response.status_code
            if response.status_code != 200:
                payload = json.loads(await response.aread())
                record.error_code = payload.get("error", {}).get("code")
                record.retry_after = response.headers.get("retry-after")
            else:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[len("data: ") :])
                        record.events.append(event)
                        if event.get("type") == "thread.created":
                            record.thread_id = event["thread"]["id"]
    except (httpx.HTTPError, ValueError) as exc:
        record.transport_error = f"{type(exc).__name__}: {exc}"
    record.seconds = time.monotonic() - started
    return record


async def run_load(
    url: str,
    tokens: dict[str, str],
    turns: int,
    *,
    timeout_seconds: float = 600,
    between_turns: Callable[[str, int], None] | None = None,
) -> list[TurnRecord]:
    """Every user of ``tokens`` runs ``turns`` turns in one thread, all users at once; the records."""
    limits = httpx.Limits(max_connections=len(tokens) * 2, max_keepalive_connections=len(tokens) * 2)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_seconds, limits=limits) as client:

        async def conversation(user: str) -> list[TurnRecord]:
            records: list[TurnRecord] = []
            thread_id: str | None = None
            for index in range(turns):
                if between_turns is not None:
                    between_turns(user, index)
                record = await _turn(client, tokens[user], user, index, thread_id)
                thread_id = record.thread_id or thread_id
                records.append(record)
            return records

        per_user = await asyncio.gather(*(conversation(user) for user in tokens))
    return [record for records in per_user for record in records]


# --- the audit ------------------------------------------------------------------------------------


@dataclass
class Audit:
    findings: dict[str, list[str]] = field(
        default_factory=lambda: {"lost": [], "duplicated": [], "misattributed": [], "cross_user": []}
    )
    threads: int = 0
    items: int = 0
    tasks: int = 0

    def counts(self) -> dict[str, int]:
        return {kind: len(found) for kind, found in self.findings.items()}

    def add(self, kind: str, what: str) -> None:
        self.findings[kind].append(what)


class _Reader:
    """Reads one user's data through the API (every page)."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    async def chatkit(self, kind: str, params: dict[str, Any]) -> httpx.Response:
        return await self.client.post("/chatkit", json={"type": kind, "params": params}, headers=self.headers)

    async def _pages(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            response = await self.chatkit(kind, {**params, "limit": 100, "order": "asc", "after": after})
            response.raise_for_status()
            page = response.json()
            out += page["data"]
            if not page["has_more"]:
                return out
            after = page["after"]

    async def threads(self) -> list[dict[str, Any]]:
        return await self._pages("threads.list", {})

    async def items(self, thread_id: str) -> list[dict[str, Any]]:
        return await self._pages("items.list", {"thread_id": thread_id})

    async def tasks(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get("/tasks", params=params, headers=self.headers)
            response.raise_for_status()
            page = response.json()
            out += page["tasks"]
            cursor = page["next_cursor"]
            if not cursor:
                return out


async def audit(url: str, tokens: dict[str, str], records: Sequence[TurnRecord]) -> Audit:
    """Check every user's threads, items and tasks against what the client saw (see the module doc)."""
    result = Audit()
    owner_of_title = {r.title: r.user for r in records}
    owner_of_thread = {r.thread_id: r.user for r in records if r.thread_id}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for user in tokens:
            reader = _Reader(client, tokens[user])
            mine = [r for r in records if r.user == user]
            await _audit_threads(result, reader, user, mine, owner_of_title, owner_of_thread)
            await _audit_tasks(result, reader, user, mine, owner_of_title)
            # Another user's thread must look missing (404), never readable.
            other = next((r for r in records if r.user != user and r.thread_id), None)
            if other is not None:
                response = await reader.chatkit("items.list", {"thread_id": other.thread_id})
                if response.status_code != 404:
                    result.add("cross_user", f"{user} reads {other.user}'s thread ({response.status_code})")
    return result


def _stored_messages(
    result: Audit, user: str, thread_id: str, items: list[dict[str, Any]], titles: dict[str, str]
) -> dict[str, dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["id"] in by_id:
            result.add("duplicated", f"item {item['id']} twice in {thread_id}")
        by_id[item["id"]] = item
    texts = Counter(text_of(i) for i in items if i["type"] == "user_message")
    for text, count in texts.items():
        if count > 1:
            result.add("duplicated", f"message {text!r} stored {count} times")
    current: str | None = None  # the title the latest user message asked for
    for item in items:
        if item["type"] == "user_message":
            current = text_of(item).removeprefix("add ")
            owner = titles.get(current)
            if owner is None or owner != user:
                kind = "cross_user" if owner is not None else "misattributed"
                result.add(kind, f"{user}'s thread {thread_id} holds message {text_of(item)!r}")
        elif item["type"] == "assistant_message":
            for mentioned in ADDED.findall(text_of(item)):
                owner = titles.get(mentioned)
                if owner is not None and owner != user:
                    result.add("cross_user", f"{user}'s answer mentions {mentioned!r} of {owner}")
                elif mentioned != current:
                    result.add(
                        "misattributed", f"answer to {current!r} in {thread_id} is about {mentioned!r}"
                    )
    return by_id


async def _audit_threads(
    result: Audit,
    reader: _Reader,
    user: str,
    mine: list[TurnRecord],
    titles: dict[str, str],
    owner_of_thread: dict[str, str],
) -> None:
    stored: dict[str, dict[str, Any]] = {}
    threads = await reader.threads()
    result.threads += len(threads)
    for thread in threads:
        owner = owner_of_thread.get(thread["id"])
        if owner is not None and owner != user:
            result.add("cross_user", f"{user} lists {owner}'s thread {thread['id']}")
            continue
        items = await reader.items(thread["id"])
        result.items += len(items)
        stored.update(_stored_messages(result, user, thread["id"], items, titles))
    for record in mine:
        for item_id, what in ((record.user_item_id, "message"), ((record.reply or {}).get("id"), "answer")):
            if item_id is not None and item_id not in stored:
                result.add("lost", f"{user} turn {record.index}: acknowledged {what} {item_id} not stored")


async def _audit_tasks(
    result: Audit, reader: _Reader, user: str, mine: list[TurnRecord], titles: dict[str, str]
) -> None:
    tasks = await reader.tasks()
    result.tasks += len(tasks)
    counted = Counter(t["title"] for t in tasks)
    for title, count in counted.items():
        owner = titles.get(title)
        if owner is not None and owner != user:
            result.add("cross_user", f"{user} has {owner}'s task {title!r}")
        elif owner is None:
            result.add("misattributed", f"{user} has a task no turn asked for: {title!r}")
        if count > 1:
            result.add("duplicated", f"{user}'s task {title!r} stored {count} times")
    for record in mine:
        reply = record.reply
        for title in ADDED.findall(text_of(reply)) if reply else []:
            if title not in counted:
                result.add(
                    "lost", f"{user} turn {record.index}: answer said {title!r} was added; no such task"
                )


def outcome_counts(records: Sequence[TurnRecord]) -> dict[str, int]:
    counts = Counter(r.outcome for r in records)
    return {k: counts.get(k, 0) for k in ("completed", "clean_error", "unclean")}


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

"""Model-based test: random store operations by two users, every read checked against a plain model.

The model is a few dictionaries and a sort; the store must agree with it on every read, including
which reads raise ``NotFoundError``. Ids, timestamps and thread names come from small pools so that
users collide on thread ids, items tie on ``created_at``, and cursors land on every position.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import hypothesis.strategies as st
from chatkit.store import NotFoundError
from chatkit.types import Attachment, FileAttachment, Page, ThreadItem, ThreadMetadata
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from support.store_samples import BASE, assistant_message, user_message
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext

T = TypeVar("T")

users = st.sampled_from([0, 1])
thread_ids = st.sampled_from(["thr_a", "thr_b"])
item_ids = st.sampled_from(["msg_1", "msg_2", "msg_3", "msg_4", "wf_5"])
attachment_ids = st.sampled_from(["atc_1", "atc_2"])
moments = st.sampled_from([BASE, BASE + timedelta(microseconds=1), BASE + timedelta(hours=1)])
texts = st.text(max_size=12)
limits = st.integers(min_value=1, max_value=4)
orders = st.sampled_from(["asc", "desc"])

Key = tuple[int, str]


def expected_page(ordered: list[Any], after: str | None, limit: int) -> Page[Any] | None:
    """The page ChatKit expects from ``ordered`` (already in the requested order); None: unknown cursor."""
    start = 0
    if after is not None:
        positions = [n for n, x in enumerate(ordered) if x.id == after]
        if not positions:
            return None
        start = positions[0] + 1
    chunk = ordered[start : start + limit + 1]
    has_more = len(chunk) > limit
    data = chunk[:limit]
    return Page(data=data, has_more=has_more, after=data[-1].id if has_more else None)


class StoreModel(RuleBasedStateMachine):
    store: DynamoDBStore  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        run_id = uuid.uuid4().hex[:10]
        # Fresh users per run: the shared table needs no cleanup between runs.
        self.users = [RequestContext(user_id=f"model-{run_id}-{n}") for n in range(2)]
        self.threads: dict[Key, ThreadMetadata] = {}
        self.items: dict[Key, dict[str, ThreadItem]] = {}
        self.attachments: dict[Key, Attachment] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.loop.close()

    # --- writes -----------------------------------------------------------------------------------

    @rule(user=users, thread_id=thread_ids, created=moments, title=st.none() | texts)
    def save_thread(self, user: int, thread_id: str, created: Any, title: str | None) -> None:
        meta = ThreadMetadata(
            id=thread_id, created_at=created, title=title, metadata={"n": len(self.threads)}
        )
        self.run(self.store.save_thread(meta, self.users[user]))
        self.threads[(user, thread_id)] = meta

    @rule(
        user=users,
        thread_id=thread_ids,
        item_id=item_ids,
        created=moments,
        text=texts,
        assistant=st.booleans(),
        via_save=st.booleans(),
    )
    def put_item(
        self,
        user: int,
        thread_id: str,
        item_id: str,
        created: Any,
        text: str,
        assistant: bool,
        via_save: bool,
    ) -> None:
        if (user, thread_id) not in self.threads:
            # ChatKit adds items only to threads it has loaded: create the thread first.
            self.save_thread(user, thread_id, BASE, None)
        make = assistant_message if assistant else user_message
        item = make(thread_id, item_id, created, text)
        write = self.store.save_item if via_save else self.store.add_thread_item
        self.run(write(thread_id, item, self.users[user]))
        self.items.setdefault((user, thread_id), {})[item_id] = item

    @rule(user=users, thread_id=thread_ids, item_id=item_ids)
    def delete_item(self, user: int, thread_id: str, item_id: str) -> None:
        self.run(self.store.delete_thread_item(thread_id, item_id, self.users[user]))
        self.items.get((user, thread_id), {}).pop(item_id, None)

    @rule(user=users, thread_id=thread_ids)
    def delete_thread(self, user: int, thread_id: str) -> None:
        self.run(self.store.delete_thread(thread_id, self.users[user]))
        self.threads.pop((user, thread_id), None)
        self.items.pop((user, thread_id), None)
        for key, attachment in list(self.attachments.items()):
            if key[0] == user and attachment.thread_id == thread_id:
                del self.attachments[key]
        # Deleting a thread is where orphans would appear: check the user's attachments right away.
        for attachment_id in ("atc_1", "atc_2"):
            self.load_attachment(user, attachment_id)

    @rule(user=users, attachment_id=attachment_ids, thread_id=st.none() | thread_ids, name=texts)
    def save_attachment(self, user: int, attachment_id: str, thread_id: str | None, name: str) -> None:
        attachment = FileAttachment(
            id=attachment_id, name=name, mime_type="text/plain", thread_id=thread_id, metadata={"k": name}
        )
        self.run(self.store.save_attachment(attachment, self.users[user]))
        self.attachments[(user, attachment_id)] = attachment

    @rule(user=users, attachment_id=attachment_ids)
    def delete_attachment(self, user: int, attachment_id: str) -> None:
        self.run(self.store.delete_attachment(attachment_id, self.users[user]))
        self.attachments.pop((user, attachment_id), None)

    # --- reads ------------------------------------------------------------------------------------

    @rule(user=users, thread_id=thread_ids)
    def load_thread(self, user: int, thread_id: str) -> None:
        expected = self.threads.get((user, thread_id))
        try:
            actual = self.run(self.store.load_thread(thread_id, self.users[user]))
        except NotFoundError:
            assert expected is None
        else:
            assert actual == expected

    @rule(user=users, thread_id=thread_ids, item_id=item_ids)
    def load_item(self, user: int, thread_id: str, item_id: str) -> None:
        expected = self.items.get((user, thread_id), {}).get(item_id)
        try:
            actual = self.run(self.store.load_item(thread_id, item_id, self.users[user]))
        except NotFoundError:
            assert expected is None
        else:
            assert actual == expected

    @rule(user=users, thread_id=thread_ids, after=st.none() | item_ids, limit=limits, order=orders)
    def load_thread_items(self, user: int, thread_id: str, after: str | None, limit: int, order: str) -> None:
        ordered = sorted(self.items.get((user, thread_id), {}).values(), key=lambda i: (i.created_at, i.id))
        if order == "desc":
            ordered.reverse()
        expected = expected_page(ordered, after, limit)
        try:
            actual = self.run(self.store.load_thread_items(thread_id, after, limit, order, self.users[user]))
        except NotFoundError:
            assert expected is None
        else:
            assert actual == expected

    @rule(user=users, after=st.none() | thread_ids, limit=limits, order=orders)
    def load_threads(self, user: int, after: str | None, limit: int, order: str) -> None:
        mine = [t for (u, _), t in self.threads.items() if u == user]
        ordered = sorted(mine, key=lambda t: (t.created_at, t.id), reverse=order == "desc")
        expected = expected_page(ordered, after, limit)
        try:
            actual = self.run(self.store.load_threads(limit, after, order, self.users[user]))
        except NotFoundError:
            assert expected is None
        else:
            assert actual == expected

    @rule(user=users, attachment_id=attachment_ids)
    def load_attachment(self, user: int, attachment_id: str) -> None:
        expected = self.attachments.get((user, attachment_id))
        try:
            actual = self.run(self.store.load_attachment(attachment_id, self.users[user]))
        except NotFoundError:
            assert expected is None
        else:
            assert actual == expected

    @invariant()
    def newest_item_matches(self) -> None:
        # ChatKit reads the newest item (client tool output, retries): it must always be exact.
        for (user, thread_id), items in self.items.items():
            if not items:
                continue
            newest = max(items.values(), key=lambda i: (i.created_at, i.id))
            page = self.run(self.store.load_thread_items(thread_id, None, 1, "desc", self.users[user]))
            assert page.data == [newest]


def test_store_agrees_with_a_plain_model(store: DynamoDBStore) -> None:
    StoreModel.store = store
    run_state_machine_as_test(
        StoreModel,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

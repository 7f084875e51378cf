"""TaskService against the embedded DynamoDB (moto over HTTP): validation, not-found, conflicts, paging."""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client
from task_assistant.tasks.models import (
    AmbiguousTaskError,
    Task,
    TaskConflictError,
    TaskNotFoundError,
    TaskValidationError,
    candidates_in,
    short_id,
)
from task_assistant.tasks.repository import encode_cursor
from task_assistant.tasks.service import TaskService, new_task_id


def stored_items(settings: Settings, user: RequestContext) -> list[dict[str, Any]]:
    """Every item in the user's partition, read directly from the table (not through the service)."""
    return dynamodb_client(settings).query(
        TableName=settings.tasks_table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": user.user_id}},
    )["Items"]


async def test_add_trims_and_stores_a_task(service: TaskService, alice: RequestContext, settings: Settings):
    task = await service.add(alice, "  Buy milk  ", "  two litres ")
    assert task.title == "Buy milk"
    assert task.notes == "two litres"
    assert task.completed is False
    assert task.version == 1
    assert task.created_at == task.updated_at
    assert await service.get(alice, task.id) == task
    (item,) = stored_items(settings, alice)
    assert item["pk"] == {"S": alice.user_id}
    assert item["sk"] == {"S": task.id}
    assert item["status_pk"] == {"S": f"{alice.user_id}#pending"}


@pytest.mark.parametrize(
    ("title", "notes", "field", "fragment"),
    [
        ("", None, "title", "must not be empty"),
        ("   \n\t ", None, "title", "must not be empty"),
        ("x" * 501, None, "title", "at most 500 characters"),
        ("ok", "n" * 5001, "notes", "at most 5,000 characters"),
    ],
)
async def test_add_rejects_invalid_fields_and_writes_nothing(
    service: TaskService,
    alice: RequestContext,
    settings: Settings,
    title: str,
    notes: str | None,
    field: str,
    fragment: str,
):
    with pytest.raises(TaskValidationError) as caught:
        await service.add(alice, title, notes)
    assert caught.value.field == field
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{field}:")
    assert stored_items(settings, alice) == []


async def test_limits_are_inclusive(service: TaskService, alice: RequestContext):
    task = await service.add(alice, "  " + "t" * 500 + "  ", "n" * 5000)
    assert len(task.title) == 500
    assert task.notes is not None and len(task.notes) == 5000


async def test_update_validation_names_the_field(service: TaskService, alice: RequestContext):
    task = await service.add(alice, "Write report")
    with pytest.raises(TaskValidationError) as nothing:
        await service.update(alice, task.id)
    assert nothing.value.field == "title"
    assert "nothing to change" in str(nothing.value)
    with pytest.raises(TaskValidationError) as long_title:
        await service.update(alice, task.id, title="y" * 501)
    assert long_title.value.field == "title"
    with pytest.raises(TaskValidationError) as long_notes:
        await service.update(alice, task.id, notes="y" * 5001)
    assert long_notes.value.field == "notes"
    with pytest.raises(TaskValidationError) as blank:
        await service.update(alice, task.id, title="   ")
    assert blank.value.field == "title"
    with pytest.raises(TaskValidationError) as version:
        await service.update(alice, task.id, title="New", expected_version=0)
    assert version.value.field == "expected_version"
    assert await service.get(alice, task.id) == task  # nothing half-written


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": True}, "limit"),
        ({"status": "done"}, "status"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
        ({"cursor": encode_cursor("../other-user", "all")}, "cursor"),
        # A forged cursor nested deeper than json.loads can recurse: still just a bad cursor.
        ({"cursor": base64.urlsafe_b64encode(b"[" * 100_000).decode()}, "cursor"),
    ],
)
async def test_list_validation(
    service: TaskService, alice: RequestContext, kwargs: dict[str, Any], field: str
):
    with pytest.raises(TaskValidationError) as caught:
        await service.list(alice, **kwargs)
    assert caught.value.field == field


async def test_cursor_from_another_filter_is_rejected(service: TaskService, alice: RequestContext):
    for i in range(3):
        await service.add(alice, f"task {i}")
    page = await service.list(alice, "all", limit=1)
    assert page.next_cursor
    with pytest.raises(TaskValidationError) as caught:
        await service.list(alice, "pending", limit=1, cursor=page.next_cursor)
    assert caught.value.field == "cursor"
    assert "'all'" in str(caught.value)


async def test_malformed_task_id_is_a_validation_error(service: TaskService, alice: RequestContext):
    with pytest.raises(TaskValidationError) as caught:
        await service.get(alice, "buy milk")
    assert caught.value.field == "task_id"


async def test_missing_task_is_not_found_for_every_operation(service: TaskService, alice: RequestContext):
    missing = new_task_id()
    operations = [
        service.get(alice, missing),
        service.update(alice, missing, title="x"),
        service.update(alice, missing, title="x", expected_version=1),
        service.complete(alice, missing),
        service.complete(alice, missing, expected_version=1),
        service.reopen(alice, missing, expected_version=3),
        service.delete(alice, missing),
        service.delete(alice, missing, expected_version=1),
    ]
    for operation in operations:
        with pytest.raises(TaskNotFoundError) as caught:
            await operation
        assert missing in str(caught.value)


async def test_another_users_task_looks_missing_and_is_untouched(
    service: TaskService, alice: RequestContext, bob: RequestContext
):
    task = await service.add(alice, "Alice's secret")
    for operation in (
        service.get(bob, task.id),
        service.update(bob, task.id, title="hacked"),
        service.update(bob, task.id, title="hacked", expected_version=1),
        service.complete(bob, task.id, expected_version=1),
        service.delete(bob, task.id),
        service.delete(bob, task.id, expected_version=1),
        service.resolve(bob, task.id),
        service.resolve(bob, "secret"),
    ):
        with pytest.raises(TaskNotFoundError):
            await operation
    assert await service.get(alice, task.id) == task
    assert (await service.list(bob)).tasks == []


def serialize_item_writes(repo: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the repository's conditional writes to the table one at a time.

    DynamoDB applies writes to one item one after another, checking each condition against the result of
    the previous write; moto's server checks and writes without a lock, so two racing writes can both pass
    their condition there (about one run in six). Serializing them here keeps the race these tests are
    about (both callers read the same version before either writes) and gives the table DynamoDB's order.
    """
    lock = asyncio.Lock()
    for name in ("update", "delete"):
        real = getattr(repo, name)

        async def one_at_a_time(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            async with lock:
                return await _real(*args, **kwargs)

        monkeypatch.setattr(repo, name, one_at_a_time)


async def test_two_concurrent_updates_exactly_one_wins(
    service: TaskService, alice: RequestContext, monkeypatch: pytest.MonkeyPatch
):
    task = await service.add(alice, "Original")
    # Make the race certain: both updates read the task before either writes (the lost-update shape).
    both_read = asyncio.Barrier(2)
    real_get = service._repo.get

    async def get_then_wait(user_id: str, task_id: str) -> Task | None:
        found = await real_get(user_id, task_id)
        await both_read.wait()
        return found

    monkeypatch.setattr(service._repo, "get", get_then_wait)
    serialize_item_writes(service._repo, monkeypatch)
    results = await asyncio.gather(
        service.update(alice, task.id, title="From A", notes="A's notes"),
        service.update(alice, task.id, title="From B"),
        return_exceptions=True,
    )
    monkeypatch.undo()

    winners = [r for r in results if isinstance(r, Task)]
    losers = [r for r in results if isinstance(r, TaskConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    (winner,) = winners
    assert winner.version == 2
    assert losers[0].current == winner  # the conflict says what the task is now
    stored = await service.get(alice, task.id)
    assert stored == winner
    # Nothing half-written: the loser's title and notes are nowhere.
    if winner.title == "From A":
        assert stored.notes == "A's notes"
    else:
        assert stored.notes is None


async def test_concurrent_writes_at_the_same_version_one_wins(
    service: TaskService, alice: RequestContext, monkeypatch: pytest.MonkeyPatch
):
    task = await service.add(alice, "Shared")
    serialize_item_writes(service._repo, monkeypatch)
    results = await asyncio.gather(
        service.update(alice, task.id, title="Renamed", expected_version=1),
        service.complete(alice, task.id, expected_version=1),
        service.delete(alice, task.id, expected_version=1),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Task) for r in results) == 1, results
    assert sum(isinstance(r, TaskConflictError | TaskNotFoundError) for r in results) == 2, results


async def test_stale_version_is_a_conflict_naming_versions(service: TaskService, alice: RequestContext):
    task = await service.add(alice, "Draft")
    await service.update(alice, task.id, title="Draft 2")
    with pytest.raises(TaskConflictError) as caught:
        await service.complete(alice, task.id, expected_version=1)
    assert "since version 1" in str(caught.value)
    assert "now at version 2" in str(caught.value)
    assert (await service.get(alice, task.id)).completed is False


async def test_complete_reopen_update_delete(service: TaskService, alice: RequestContext):
    task = await service.add(alice, "Call mom", "Sunday")
    done = await service.complete(alice, task.id)
    assert done.completed and done.version == 2
    assert await service.complete(alice, task.id) == done  # idempotent: no write, same version
    reopened = await service.reopen(alice, task.id)
    assert reopened.completed is False and reopened.version == 3
    renamed = await service.update(alice, task.id, title="Call dad")
    assert renamed.title == "Call dad" and renamed.notes == "Sunday" and renamed.version == 4
    cleared = await service.update(alice, task.id, notes="")
    assert cleared.notes is None and cleared.title == "Call dad"
    assert cleared.updated_at > task.updated_at
    deleted = await service.delete(alice, task.id)
    assert deleted == cleared
    with pytest.raises(TaskNotFoundError):
        await service.get(alice, task.id)


async def test_paging_newest_first_with_exact_cursors(service: TaskService, alice: RequestContext):
    added = [await service.add(alice, f"task {i:02d}") for i in range(25)]
    newest_first = [t.id for t in reversed(added)]

    seen: list[str] = []
    cursor: str | None = None
    sizes = []
    while True:
        page = await service.list(alice, limit=10, cursor=cursor)
        sizes.append(len(page.tasks))
        seen += [t.id for t in page.tasks]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sizes == [10, 10, 5]
    assert seen == newest_first

    # Exactly two full pages: the second page says it is the last (no trailing empty page).
    page1 = await service.list(alice, limit=20)
    page2 = await service.list(alice, limit=5, cursor=page1.next_cursor)
    assert [t.id for t in page2.tasks] == newest_first[20:]
    assert page2.next_cursor is None


async def test_filters_use_the_status_index(service: TaskService, alice: RequestContext, bob: RequestContext):
    added = [await service.add(alice, f"task {i}") for i in range(7)]
    await service.add(bob, "bob's task")
    for task in added[::2]:  # 0, 2, 4, 6
        await service.complete(alice, task.id)

    completed = await service.list(alice, "completed")
    pending = await service.list(alice, "pending")
    assert [t.id for t in completed.tasks] == [added[i].id for i in (6, 4, 2, 0)]
    assert [t.id for t in pending.tasks] == [added[i].id for i in (5, 3, 1)]
    assert all(t.completed for t in completed.tasks)
    assert not any(t.completed for t in pending.tasks)

    first = await service.list(alice, "completed", limit=3)
    rest = await service.list(alice, "completed", limit=3, cursor=first.next_cursor)
    assert [t.id for t in first.tasks + rest.tasks] == [t.id for t in completed.tasks]
    assert rest.next_cursor is None

    await service.reopen(alice, added[0].id)
    assert added[0].id in [t.id for t in (await service.list(alice, "pending")).tasks]


async def test_resolve_by_id_exact_title_and_unique_substring(service: TaskService, alice: RequestContext):
    milk = await service.add(alice, "Milk")
    buy_milk = await service.add(alice, "Buy milk")
    report = await service.add(alice, "Write the quarterly report")

    assert await service.resolve(alice, milk.id) == milk
    assert await service.resolve(alice, milk.id.lower()) == milk
    assert await service.resolve(alice, "  MILK ") == milk  # exact (case-insensitive) beats substring
    assert await service.resolve(alice, "buy MILK") == buy_milk
    assert await service.resolve(alice, "quarterly") == report

    with pytest.raises(AmbiguousTaskError) as caught:
        await service.resolve(alice, "ilk")
    assert {t.id for t in caught.value.candidates} == {milk.id, buy_milk.id}
    message = str(caught.value)
    assert milk.id in message and buy_milk.id in message and "'Buy milk'" in message

    with pytest.raises(TaskNotFoundError):
        await service.resolve(alice, "walk the dog")
    with pytest.raises(TaskValidationError) as blank:
        await service.resolve(alice, "  ")
    assert blank.value.field == "task"


async def test_resolve_prefer_narrows_duplicates(service: TaskService, alice: RequestContext):
    old = await service.add(alice, "Water plants")
    await service.complete(alice, old.id)
    new = await service.add(alice, "water plants")
    assert (await service.resolve(alice, "water plants", prefer="pending")).id == new.id
    assert (await service.resolve(alice, "water plants", prefer="completed")).id == old.id
    with pytest.raises(AmbiguousTaskError):
        await service.resolve(alice, "water plants")


async def test_two_users_are_isolated(service: TaskService, alice: RequestContext, bob: RequestContext):
    await service.add(alice, "Alice 1")
    await service.add(alice, "Alice 2")
    await service.add(bob, "Bob 1")
    assert [t.title for t in (await service.list(alice)).tasks] == ["Alice 2", "Alice 1"]
    assert [t.title for t in (await service.list(bob)).tasks] == ["Bob 1"]


# -- model-based check: random operation sequences against a plain-Python model --------------------

_examples = itertools.count()
_title = st.one_of(
    st.text(alphabet="ab \t", min_size=0, max_size=6),  # often blank after trimming, often duplicated
    st.just("x" * 501),  # too long
)
_op = st.one_of(
    st.tuples(st.just("add"), _title),
    st.tuples(st.just("complete"), st.integers(0, 7)),
    st.tuples(st.just("reopen"), st.integers(0, 7)),
    st.tuples(st.just("rename"), st.integers(0, 7), _title),
    st.tuples(st.just("delete"), st.integers(0, 7)),
)


@settings_(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(_op, min_size=1, max_size=12))
# The reference model applies every operation kind in one place, next to the call it mirrors.
def test_random_operations_match_a_simple_model(service: TaskService, ops: list[tuple[Any, ...]]):  # noqa: C901
    user = RequestContext(user_id=f"model-{next(_examples)}")

    async def run() -> None:
        model: dict[str, tuple[str, bool, int]] = {}  # id -> (title, completed, version)
        order: list[str] = []  # ids, oldest first

        def pick(i: int) -> str | None:
            return order[i % len(order)] if order else None

        for op in ops:
            kind = op[0]
            try:
                if kind == "add":
                    task = await service.add(user, op[1])
                    model[task.id] = (task.title, False, 1)
                    order.append(task.id)
                elif (task_id := pick(op[1])) is not None:
                    title, done, version = model[task_id]
                    if kind == "complete":
                        await service.complete(user, task_id)
                        model[task_id] = (title, True, version if done else version + 1)
                    elif kind == "reopen":
                        await service.reopen(user, task_id)
                        model[task_id] = (title, False, version + 1 if done else version)
                    elif kind == "rename":
                        renamed = await service.update(user, task_id, title=op[2])
                        model[task_id] = (renamed.title, done, version + 1)
                    else:
                        await service.delete(user, task_id)
                        del model[task_id]
                        order.remove(task_id)
            except TaskValidationError as exc:
                assert exc.field == "title"  # only titles can be invalid here; nothing changed
            # After every step the stored state is the model's, whichever way it is listed.
            for status in ("all", "pending", "completed"):
                expected = [
                    i for i in reversed(order) if status == "all" or model[i][1] == (status == "completed")
                ]
                seen: list[Task] = []
                cursor: str | None = None
                while True:
                    page = await service.list(user, status, limit=3, cursor=cursor)
                    seen += page.tasks
                    if (cursor := page.next_cursor) is None:
                        break
                assert [t.id for t in seen] == expected
                assert all((t.title, t.completed, t.version) == model[t.id] for t in seen)

    asyncio.run(run())


async def test_ambiguity_lists_a_bounded_number_of_candidates(service: TaskService, alice: RequestContext):
    for i in range(13):
        await service.add(alice, f"Errand {i}")
    with pytest.raises(AmbiguousTaskError) as caught:
        await service.resolve(alice, "errand")
    assert len(caught.value.candidates) == 13
    details = caught.value.to_dict()
    assert len(details["candidates"]) == 10 and details["total_candidates"] == 13
    assert "matches 13 tasks" in str(caught.value) and "and 3 more" in str(caught.value)
    assert "'Errand 12'" in str(caught.value) and "'Errand 0'" not in str(caught.value)


async def test_search_matches_titles_in_any_case_best_first(service: TaskService, alice: RequestContext):
    older_done = await service.add(alice, "Milk the cow")
    await service.complete(alice, older_done.id)
    buy = await service.add(alice, "Buy MILK")
    oat = await service.add(alice, "oat milk")
    fresh = await service.add(alice, "milk  run")
    await service.add(alice, "Call mom")

    found = await service.search(alice, "  milk ")
    # Titles starting with "milk" first (pending before done), then a word starting with it, newest first.
    assert [t.id for t in found] == [fresh.id, older_done.id, oat.id, buy.id]
    assert [t.title for t in await service.search(alice, "LK R")] == ["milk  run"], "whitespace folded"
    assert len(await service.search(alice, "milk", limit=2)) == 2
    assert len(await service.search(alice, "")) == 5, "a blank query offers every task"
    assert await service.search(alice, "dentist") == []


async def test_search_is_one_bounded_query_of_the_callers_partition(
    settings: Settings, alice: RequestContext, bob: RequestContext
):
    client = dynamodb_client(settings)
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    try:
        service = TaskService(settings, dynamodb=client)
        await service.add(bob, "Bob's milk")
        await service.add(alice, "Alice's milk")
        calls.clear()
        found = await service.search(alice, "milk")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", record)
    assert [t.title for t in found] == ["Alice's milk"], "another user's tasks are never found"
    assert [name for name, _ in calls] == ["Query"], "one Query, never a Scan"
    [(_, query)] = calls
    assert query["ExpressionAttributeValues"] == {":p": {"S": alice.user_id}}
    assert query["Limit"] <= 501


@pytest.mark.parametrize(
    ("query", "limit", "field"), [("x" * 201, 5, "q"), ("a", 0, "limit"), ("a", 51, "limit")]
)
async def test_search_refuses_bad_input(service: TaskService, alice: RequestContext, query, limit, field):
    with pytest.raises(TaskValidationError) as caught:
        await service.search(alice, query, limit)
    assert caught.value.field == field


async def test_equal_titles_are_told_apart_by_short_id(service: TaskService, alice: RequestContext):
    first = await service.add(alice, "buy milk")
    second = await service.add(alice, "buy milk")
    with pytest.raises(AmbiguousTaskError) as caught:
        await service.resolve(alice, "buy milk")
    message = str(caught.value)
    # The advice can be followed: each candidate has a short id, and the message asks for one.
    assert "full title" not in message
    assert short_id(second.id) in message and short_id(first.id) in message
    assert candidates_in(message) == [(second.id, "buy milk", False), (first.id, "buy milk", False)]
    assert await service.resolve(alice, short_id(first.id)) == first
    assert await service.resolve(alice, short_id(second.id).upper()) == second
    with pytest.raises(TaskNotFoundError):
        await service.resolve(alice, "#zzzz")

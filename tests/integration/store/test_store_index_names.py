"""Index names live in the table specs only: the code that queries an index uses the spec's constant."""

from __future__ import annotations

import re
from pathlib import Path

import task_assistant
from task_assistant.chat import store
from task_assistant.storage import tables
from task_assistant.tasks import repository

PACKAGE = Path(task_assistant.__file__).parent
INDEX_NAMES = {
    index.name for spec in tables.ALL_TABLES for index in (*spec.global_indexes, *spec.local_indexes)
}


def test_queried_indexes_are_the_specs() -> None:
    assert store.BY_CREATED == tables.CHAT_BY_CREATED
    assert store.BY_USER == tables.CHAT_BY_USER
    assert repository.STATUS_INDEX == tables.TASKS_BY_STATUS
    assert {index.name for index in tables.CHAT_TABLE.global_indexes} == {tables.CHAT_BY_USER}
    assert {index.name for index in tables.CHAT_TABLE.local_indexes} == {tables.CHAT_BY_CREATED}
    assert {index.name for index in tables.TASKS_TABLE.global_indexes} == {tables.TASKS_BY_STATUS}


def test_no_index_name_is_spelled_out_outside_the_specs() -> None:
    literal = re.compile("|".join(rf"""["']{re.escape(name)}["']""" for name in sorted(INDEX_NAMES)))
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != Path(tables.__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []

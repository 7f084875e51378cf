"""Index and key attribute names live in the table specs only: the code that uses them imports them."""

from __future__ import annotations

import re
from pathlib import Path

import task_assistant
from task_assistant.chat.store import dynamodb_store
from task_assistant.storage import tables
from task_assistant.tasks import repository

PACKAGE = Path(task_assistant.__file__).parent
INDEX_NAMES = {
    index.name for spec in tables.ALL_TABLES for index in (*spec.global_indexes, *spec.local_indexes)
}


def test_queried_indexes_are_the_specs() -> None:
    queried = {n for n in vars(dynamodb_store).values() if isinstance(n, str) and n in INDEX_NAMES}
    assert queried == {tables.CHAT_BY_CREATED, tables.CHAT_BY_USER}
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


def test_the_chat_store_spells_no_key_attribute_name() -> None:
    names = {tables.CHAT_PK, tables.CHAT_SK, tables.CHAT_USER_PK, tables.CHAT_USER_SK, tables.CHAT_CREATED}
    names.add(tables.CHAT_EXPIRES_AT)
    literal = re.compile("|".join(rf"""["']{re.escape(name)}["']""" for name in sorted(names)))
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted((PACKAGE / "chat" / "store").glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []

"""The one place where tables are defined.

The embedded local services (:mod:`task_assistant.local.embedded`), the tests and the CDK stack all
build their tables from these specs, so local and deployed tables cannot drift.

Chat table (single table, every key carries the owner so isolation is structural): ``pk``/``sk``;

- ``by_created`` (LSI): ``pk``/``created``; thread items in chronological order.
- ``by_user`` (GSI): ``gsi1pk``/``gsi1sk``; a user's threads by creation time.
- TTL attribute ``expires_at`` (epoch seconds), optional.

What goes into those attributes is decided by the code that writes the rows: threads, items and
attachments in :mod:`task_assistant.chat.store.keys`, rate-limit counters in
:mod:`task_assistant.web.rate_limits`. Both take attribute and index names from the constants below.

Tasks table: ``pk`` = user id, ``sk`` = task id (a ULID, so newest first is key order);
``by_status`` (GSI): ``status_pk`` = ``<user>#pending|completed``, ``sk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

KeyType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: Key
    sort_key: Key | None = None


@dataclass(frozen=True)
class TableSpec:
    """Keys, indexes and TTL of one table; the logical id names it in CDK and in settings."""

    logical_id: str
    partition_key: Key
    sort_key: Key | None = None
    global_indexes: tuple[Index, ...] = ()
    local_indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def key_attributes(self) -> dict[str, KeyType]:
        """Every attribute used by the table's or an index's key, with its type."""
        keys: list[Key | None] = [self.partition_key, self.sort_key]
        for index in (*self.global_indexes, *self.local_indexes):
            keys += [index.partition_key, index.sort_key]
        return {k.name: k.type for k in keys if k is not None}

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        """Arguments for boto3 ``create_table`` (on-demand billing, everything projected)."""

        def schema(pk: Key, sk: Key | None) -> list[dict[str, str]]:
            out = [{"AttributeName": pk.name, "KeyType": "HASH"}]
            if sk is not None:
                out.append({"AttributeName": sk.name, "KeyType": "RANGE"})
            return out

        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": schema(self.partition_key, self.sort_key),
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": kind} for name, kind in self.key_attributes().items()
            ],
        }
        if self.global_indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": ix.name,
                    "KeySchema": schema(ix.partition_key, ix.sort_key),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for ix in self.global_indexes
            ]
        if self.local_indexes:
            kwargs["LocalSecondaryIndexes"] = [
                {
                    "IndexName": ix.name,
                    "KeySchema": schema(ix.partition_key, ix.sort_key),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for ix in self.local_indexes
            ]
        return kwargs


#: Index names, used by the specs below and by the code that queries them (never spelled out elsewhere).
CHAT_BY_USER = "by_user"
CHAT_BY_CREATED = "by_created"
TASKS_BY_STATUS = "by_status"

#: Key attribute names of the chat table, used by the spec below and by the code that writes its rows.
CHAT_PK = "pk"
CHAT_SK = "sk"
CHAT_USER_PK = "gsi1pk"
CHAT_USER_SK = "gsi1sk"
CHAT_CREATED = "created"
CHAT_EXPIRES_AT = "expires_at"

CHAT_TABLE = TableSpec(
    logical_id="ChatTable",
    partition_key=Key(CHAT_PK),
    sort_key=Key(CHAT_SK),
    global_indexes=(Index(CHAT_BY_USER, Key(CHAT_USER_PK), Key(CHAT_USER_SK)),),
    local_indexes=(Index(CHAT_BY_CREATED, Key(CHAT_PK), Key(CHAT_CREATED)),),
    ttl_attribute=CHAT_EXPIRES_AT,
)

TASKS_TABLE = TableSpec(
    logical_id="TasksTable",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    global_indexes=(Index(TASKS_BY_STATUS, Key("status_pk"), Key("sk")),),
)

ALL_TABLES: tuple[TableSpec, ...] = (CHAT_TABLE, TASKS_TABLE)

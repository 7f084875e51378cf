"""The one place where tables are defined.

The embedded local services (:mod:`task_assistant.local.embedded`), the tests and the CDK stack all
build their tables from these specs, so local and deployed tables cannot drift.

Chat table (single table, every key carries the owner so isolation is structural):

=========================  ===========================  ====================================
item                       pk                           sk
=========================  ===========================  ====================================
thread metadata            ``U#<user>#T#<thread>``      ``THREAD``
thread item                ``U#<user>#T#<thread>``      ``ITEM#<item id>``
attachment metadata        ``U#<user>#A#<attachment>``  ``ATTACHMENT``
rate-limit counter         ``RATE#<user>#<window>``     ``RATE``
=========================  ===========================  ====================================

- ``by_created`` (LSI): ``created`` = ``<created_at iso>#<item id>``; thread items in
  chronological order, the item id as a stable tie-break.
- ``by_user`` (GSI): ``gsi1pk`` = ``U#<user>``, ``gsi1sk`` = ``<created_at iso>#<thread id>``;
  a user's threads by creation time.
- TTL attribute ``expires_at`` (epoch seconds), optional.

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

CHAT_TABLE = TableSpec(
    logical_id="ChatTable",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    global_indexes=(Index(CHAT_BY_USER, Key("gsi1pk"), Key("gsi1sk")),),
    local_indexes=(Index(CHAT_BY_CREATED, Key("pk"), Key("created")),),
    ttl_attribute="expires_at",
)

TASKS_TABLE = TableSpec(
    logical_id="TasksTable",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    global_indexes=(Index(TASKS_BY_STATUS, Key("status_pk"), Key("sk")),),
)

ALL_TABLES: tuple[TableSpec, ...] = (CHAT_TABLE, TASKS_TABLE)

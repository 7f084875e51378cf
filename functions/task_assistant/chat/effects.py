"""What the tool calls answering a user message have changed, so a retried turn never changes it again.

``threads.retry_after_item`` asks for a new answer to a message, not for its request to be carried out
a second time. Each changing task tool call made for a message is recorded in the chat table, under
the thread (:func:`task_assistant.chat.store.keys.effect_key`)::

    pk = U#<user>#T#<thread>    sk = EFFECT#<message id>#<call>    tool, result (JSON), expires_at

``<call>`` is a digest of the tool name and its canonical arguments (``None`` dropped; text trimmed,
inner whitespace collapsed, case folded, so ``"Buy  milk"`` and ``"buy milk"`` are one call), then
``#<n>`` for the n-th such call while answering the message: "add milk twice" records two calls, and a
retry replays both. The user is the verified caller's (the partition carries it); the tools never name
one.

Cost: a first answer reads nothing; each changing call adds one conditional ``PutItem`` after it has
been applied. A retry (:attr:`RequestContext.retried_item_id` is the message) reads the message's
records with one ``Query`` on its first changing call. Rows outlive the thread's items no longer than
:data:`EFFECT_TTL_DAYS` (or the chat TTL, if shorter) and go with the thread when it is deleted.

Limits: a record is written after its effect, so a process that dies in between (or a retry racing the
first attempt while it still runs) can apply a call twice; the conditional put then logs it. A retry
whose model words a call differently (another title) is a different call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from task_assistant.chat.store.keys import effect_key, effect_prefix, str_value, thread_pk
from task_assistant.context import EffectCall, RequestContext, ToolEffects
from task_assistant.log import logger
from task_assistant.storage.clients import run_sync
from task_assistant.storage.tables import CHAT_EXPIRES_AT, CHAT_PK, CHAT_SK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EFFECT_TTL_DAYS: Final = 30
"""How long a retry of a message still finds what its first answer changed."""


def call_digest(tool: str, arguments: Mapping[str, Any]) -> str:
    """The same digest for the same tool and the same canonical arguments (see the module docstring)."""
    canonical = json.dumps([tool, _canonical(dict(arguments))], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


class ToolEffectsTable:
    """The tool effect records in the chat table; :meth:`for_message` opens one turn's view of them."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, item_ttl_days: int | None = None) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.ttl_seconds = min(EFFECT_TTL_DAYS, item_ttl_days or EFFECT_TTL_DAYS) * 86400

    def for_message(self, context: RequestContext, thread_id: str, message_id: str) -> MessageEffects:
        """The records of the calls answering ``message_id``, read only if this request is its retry."""
        return MessageEffects(
            self, context.user_id, thread_id, message_id, retry=context.retried_item_id == message_id
        )


class MessageEffects(ToolEffects):
    """One turn's view of the records of its message (a :class:`~task_assistant.context.ToolEffects`)."""

    def __init__(
        self, table: ToolEffectsTable, user_id: str, thread_id: str, message_id: str, *, retry: bool
    ) -> None:
        self._table = table
        self._user_id = user_id
        self._thread_id = thread_id
        self._message_id = message_id
        # A message this request has just added has no records yet: there is nothing to read.
        self._recorded: dict[str, dict[str, Any]] | None = None if retry else {}
        self._loading = asyncio.Lock()
        self._seen: Counter[str] = Counter()

    async def begin(self, tool: str, arguments: Mapping[str, Any]) -> EffectCall:
        digest = call_digest(tool, arguments)
        call = f"{digest}#{self._seen[digest]}"
        self._seen[digest] += 1
        recorded = await self._records()
        return _Call(self, tool, call, recorded.get(call))

    async def _records(self) -> dict[str, dict[str, Any]]:
        async with self._loading:
            if self._recorded is None:
                self._recorded = await self._query()
            return self._recorded

    async def _query(self) -> dict[str, dict[str, Any]]:
        prefix = effect_prefix(self._message_id)
        request: dict[str, Any] = {
            "TableName": self._table.table,
            "KeyConditionExpression": f"{CHAT_PK} = :pk AND begins_with({CHAT_SK}, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": str_value(thread_pk(self._user_id, self._thread_id)),
                ":prefix": str_value(prefix),
            },
            "ConsistentRead": True,
        }
        out: dict[str, dict[str, Any]] = {}
        while True:
            response = await run_sync(self._table.dynamodb.query, **request)
            for row in response.get("Items", []):
                out[row[CHAT_SK]["S"][len(prefix) :]] = json.loads(row["result"]["S"])
            last = response.get("LastEvaluatedKey")
            if not last:
                return out
            request["ExclusiveStartKey"] = last

    async def record_call(self, tool: str, call: str, result: dict[str, Any]) -> None:
        """Remember that ``call`` (of ``tool``) was applied with ``result``; logs instead of raising."""
        row = {
            **effect_key(self._user_id, self._thread_id, self._message_id, call),
            "kind": str_value("tool_effect"),
            "tool": str_value(tool),
            "result": str_value(json.dumps(result, ensure_ascii=False)),
            CHAT_EXPIRES_AT: {"N": str(int(time.time()) + self._table.ttl_seconds)},
        }
        where = {"thread_id": self._thread_id, "message_id": self._message_id, "tool": tool}
        try:
            await run_sync(
                self._table.dynamodb.put_item,
                TableName=self._table.table,
                Item=row,
                ConditionExpression=f"attribute_not_exists({CHAT_PK})",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                logger.warning("Tool effect applied by two attempts at once", extra=where)
                return
            logger.exception("Tool effect not recorded", extra=where)
        except Exception:
            # The change is made; failing the call now would tell the model it was not.
            logger.exception("Tool effect not recorded", extra=where)


class _Call(EffectCall):
    def __init__(
        self, effects: MessageEffects, tool: str, call: str, recorded: dict[str, Any] | None
    ) -> None:
        self._effects = effects
        self._tool = tool
        self._call = call
        self._recorded = recorded

    @property
    def recorded(self) -> dict[str, Any] | None:
        return self._recorded

    async def record(self, result: dict[str, Any]) -> None:
        await self._effects.record_call(self._tool, self._call, result)

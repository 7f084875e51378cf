"""DynamoDB request units of the calls a boto3 client makes, computed from item sizes by DynamoDB's rules.

moto answers ``ReturnConsumedCapacity`` but not by item size (a 5 KB put reports 1 WCU where DynamoDB
charges 5), so this meter asks for it (and reports moto's figure beside its own) and computes units from
the items each call reads or writes:

- reads: ``ceil(bytes / 4 KB)`` per request, at least 1 (a ``GetItem`` charges the item, a ``Query`` the
  items it returns); half for an eventually consistent read (every GSI read);
- writes: ``ceil(bytes / 1 KB)``, at least 1, of the larger of the old and new item, plus the same for
  every index the item is in, plus the old size again for an index entry removed or re-keyed.

The old item of a write (and the new one of an ``UpdateItem``) is read out of band, on another client,
before or after the call; that read is not counted and takes time, so time turns with the meter off.
Item size: attribute names plus values, as DynamoDB counts them.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

from task_assistant.storage.tables import TableSpec

_READS = {"GetItem", "Query"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def value_size(value: dict[str, Any]) -> int:
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "B":
        return len(v)
    if kind == "N":
        return math.ceil(len(v.lstrip("-").replace(".", "")) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(value_size(x) + 1 for x in v)
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in (item or {}).items())


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


class CapacityMeter:
    """Requests by operation and computed read/write units of one DynamoDB client (thread-safe)."""

    def __init__(self, client: Any, reader: Any, specs: dict[str, TableSpec]) -> None:
        self.specs = specs
        self.enabled = True
        self._reader = reader
        self._local = threading.local()
        self._lock = threading.Lock()
        self.reset()
        client.meta.events.register("before-parameter-build.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)
        client.meta.events.register("before-send.dynamodb.*", self._sent)

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.rru = self.wru = self.reported_rru = self.reported_wru = 0.0

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {
                "ddb_requests": dict(self.requests),
                "rru": self.rru,
                "wru": self.wru,
                "reported_rru": self.reported_rru,
                "reported_wru": self.reported_wru,
            }

    def _sent(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._local.call = None
        if not self.enabled or model.name not in _READS | _WRITES:
            return
        params["ReturnConsumedCapacity"] = "TOTAL"
        old = self._read(params) if model.name in _WRITES else None
        self._local.call = (model.name, dict(params), old)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        call = getattr(self._local, "call", None)
        if call is None or call[0] != model.name:
            return
        name, params, old = call
        consumed = parsed.get("ConsumedCapacity") or {}
        reported = consumed.get("CapacityUnits", 0.0) if isinstance(consumed, dict) else 0.0
        if name in _READS:
            units = self._read_units(params, parsed)
            with self._lock:
                self.rru += units
                self.reported_rru += reported
            return
        new = None
        if name == "PutItem":
            new = params["Item"]
        elif name == "UpdateItem":
            new = self._read(params)
        units = self._write_units(params["TableName"], old, new)
        with self._lock:
            self.wru += units
            self.reported_wru += reported

    def _read(self, params: dict[str, Any]) -> dict[str, Any] | None:
        spec = self.specs.get(params["TableName"])
        if spec is None:
            return None
        source = params.get("Key") or params.get("Item") or {}
        names = [spec.partition_key.name] + ([spec.sort_key.name] if spec.sort_key else [])
        key = {n: source[n] for n in names}
        item: dict[str, Any] | None = self._reader.get_item(
            TableName=params["TableName"], Key=key, ConsistentRead=True
        ).get("Item")
        return item

    @staticmethod
    def _read_units(params: dict[str, Any], parsed: dict[str, Any]) -> float:
        items = [parsed["Item"]] if parsed.get("Item") else list(parsed.get("Items", []))
        units = max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
        # GSI queries cannot be consistent (the store never asks); LSI and table reads here always are.
        return float(units) if params.get("ConsistentRead") else units / 2

    def _write_units(self, table: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
        units = _kb(max(item_size(old), item_size(new)))
        spec = self.specs.get(table)
        indexes = (*spec.global_indexes, *spec.local_indexes) if spec else ()
        for index in indexes:
            names = [index.partition_key.name] + ([index.sort_key.name] if index.sort_key else [])
            old_key = tuple(str(old[n]) for n in names) if old and all(n in old for n in names) else None
            new_key = tuple(str(new[n]) for n in names) if new and all(n in new for n in names) else None
            if new_key is not None:
                units += _kb(item_size(new))
            if old_key is not None and old_key != new_key:
                units += _kb(item_size(old))
        return units

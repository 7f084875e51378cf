"""Local mode persistence: snapshots of the embedded DynamoDB tables and S3 bucket in a data directory.

The embedded services (moto) keep everything in memory. ``make dev`` restores the last snapshot on start
and writes a new one every few seconds (only when something changed) and on exit, so threads, tasks
and attachments survive a restart. Layout under ``<data dir>/aws/``::

    dynamodb.json           {"format": 1, "tables": {"chat": [items...], "tasks": [items...]}}
    s3/index.json           {"<object key>": {"file", "etag", "content_type", "metadata"}}
    s3/objects/<sha256>     object bytes

Items are stored in DynamoDB's typed JSON (binary values base64 encoded) under the tables' logical
names, so a snapshot restores into tables with any name prefix. Rate-limit counters are not kept.

This module is a local tool: it scans whole tables, which the application itself never does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from task_assistant.settings import Settings
from task_assistant.storage.clients import dynamodb_client, s3_client

FORMAT_VERSION = 1
_BATCH = 25


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a crash mid-write never leaves a half snapshot


@dataclass(frozen=True)
class RestoreReport:
    items: int
    objects: int


class Snapshotter:
    """Saves and restores the tables and bucket named by ``settings`` under ``directory``."""

    def __init__(self, settings: Settings, directory: str | os.PathLike[str]) -> None:
        self.settings = settings
        self.directory = Path(directory)
        self._ddb = dynamodb_client(settings)
        self._s3 = s3_client(settings)
        self._tables = {"chat": settings.chat_table_name, "tasks": settings.tasks_table_name}
        self._last_digest: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def dynamodb_file(self) -> Path:
        return self.directory / "dynamodb.json"

    @property
    def s3_index_file(self) -> Path:
        return self.directory / "s3" / "index.json"

    # --- save ---------------------------------------------------------------------------------------

    def save(self) -> bool:
        """Write a snapshot if anything changed since the last one; True if DynamoDB data was written."""
        with self._lock:
            self._save_objects()
            return self._save_items()

    def _scan(self, table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = self._ddb.scan(**kwargs)
            items += [
                i for i in page.get("Items", []) if not i.get("pk", {}).get("S", "").startswith("RATE#")
            ]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _save_items(self) -> bool:
        tables = {logical: self._scan(name) for logical, name in self._tables.items()}
        payload = json.dumps({"format": FORMAT_VERSION, "tables": _encode(tables)}, sort_keys=True).encode()
        digest = hashlib.sha256(payload).hexdigest()
        if digest == self._last_digest:
            return False
        _write_atomic(self.dynamodb_file, payload)
        self._last_digest = digest
        return True

    def _load_index(self) -> dict[str, dict[str, Any]]:
        if not self.s3_index_file.exists():
            return {}
        index: dict[str, dict[str, Any]] = json.loads(self.s3_index_file.read_text())
        return index

    def _save_objects(self) -> None:
        bucket = self.settings.attachments_bucket
        index = self._load_index()
        seen: dict[str, dict[str, Any]] = {}
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj.get("ETag", "")
                entry = index.get(key)
                if entry is None or entry.get("etag") != etag:
                    got = self._s3.get_object(Bucket=bucket, Key=key)
                    name = hashlib.sha256(key.encode()).hexdigest()
                    _write_atomic(self.directory / "s3" / "objects" / name, got["Body"].read())
                    entry = {
                        "file": name,
                        "etag": etag,
                        "content_type": got.get("ContentType", "application/octet-stream"),
                        "metadata": got.get("Metadata", {}),
                    }
                seen[key] = entry
        for key, entry in index.items():
            if key not in seen:
                (self.directory / "s3" / "objects" / entry["file"]).unlink(missing_ok=True)
        if seen != index:
            _write_atomic(self.s3_index_file, json.dumps(seen, sort_keys=True).encode())

    # --- restore ------------------------------------------------------------------------------------

    def restore(self) -> RestoreReport:
        """Load the last snapshot into the (empty) tables and bucket; nothing to do if there is none."""
        with self._lock:
            items = self._restore_items()
            objects = self._restore_objects()
            return RestoreReport(items=items, objects=objects)

    def _restore_items(self) -> int:
        if not self.dynamodb_file.exists():
            return 0
        raw = self.dynamodb_file.read_bytes()
        document = json.loads(raw)
        if document.get("format") != FORMAT_VERSION:
            raise ValueError(f"{self.dynamodb_file}: unknown snapshot format {document.get('format')!r}")
        tables = _decode(document["tables"])
        count = 0
        for logical, items in tables.items():
            table = self._tables.get(logical)
            if table is None:
                continue
            for start in range(0, len(items), _BATCH):
                requests = [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH]]
                pending: dict[str, Any] = {table: requests}
                while pending:
                    response = self._ddb.batch_write_item(RequestItems=pending)
                    pending = dict(response.get("UnprocessedItems") or {})
                count += len(requests)
        self._last_digest = hashlib.sha256(raw).hexdigest()
        return count

    def _restore_objects(self) -> int:
        index = self._load_index()
        for key, entry in index.items():
            body = (self.directory / "s3" / "objects" / entry["file"]).read_bytes()
            self._s3.put_object(
                Bucket=self.settings.attachments_bucket,
                Key=key,
                Body=body,
                ContentType=entry.get("content_type", "application/octet-stream"),
                Metadata=entry.get("metadata", {}),
            )
        return len(index)

    # --- background ---------------------------------------------------------------------------------

    def start(self, interval_seconds: float = 5.0) -> None:
        """Snapshot every ``interval_seconds`` on a daemon thread until :meth:`stop`."""

        def loop() -> None:
            while not self._stop.wait(interval_seconds):
                try:
                    self.save()
                except Exception as exc:  # keep serving; the next round or the exit snapshot retries
                    print(f"[local] snapshot failed: {exc}", flush=True)

        self._thread = threading.Thread(target=loop, name="local-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and write a final snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.save()

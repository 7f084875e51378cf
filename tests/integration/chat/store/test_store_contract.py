"""DynamoDBStore against the shape of ChatKit's Store contract: signatures, no scans, ids."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from chatkit.store import AttachmentStore, NotFoundError, Store

from support.store import (
    thread,
)
from support.store_samples import (
    BASE,
    user_message,
)
from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.ids import ID_PATTERN, ID_PREFIXES, new_id
from task_assistant.chat.store import DynamoDBStore
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

APP_PACKAGE = Path(__file__).resolve().parents[3] / "functions" / "task_assistant"


# --- contract shape ---------------------------------------------------------------------------------


def test_method_signatures_match_the_base_classes() -> None:
    # ChatKit calls the store with keyword arguments, so the parameter names must be the base class's.
    for base, impl in ((Store, DynamoDBStore), (AttachmentStore, S3AttachmentStore)):
        for name, member in inspect.getmembers(base, inspect.isfunction):
            if name.startswith("_"):
                continue
            expected = list(inspect.signature(member).parameters)
            actual = list(inspect.signature(getattr(impl, name)).parameters)
            assert actual == expected, f"{impl.__name__}.{name}{actual} != {expected}"
    assert not getattr(DynamoDBStore, "__abstractmethods__", None)


def test_no_scan_anywhere_in_the_application() -> None:
    # local/ is laptop tooling (it snapshots the embedded tables to disk); it never serves a request.
    offenders = [
        str(path.relative_to(APP_PACKAGE))
        for path in APP_PACKAGE.rglob("*.py")
        if path.relative_to(APP_PACKAGE).parts[0] != "local"
        and re.search(r"\.scan\(|[\"']Scan[\"']|paginator\([\"']scan", path.read_text())
    ]
    assert offenders == []


# --- ids --------------------------------------------------------------------------------------------


def test_ids_are_collision_proof_and_keep_chatkit_prefixes(settings: Settings, store: DynamoDBStore) -> None:
    generated = [new_id("message") for _ in range(100_000)]
    assert len(set(generated)) == len(generated)
    assert all(ID_PATTERN.match(i) for i in generated)

    ctx = RequestContext(user_id="u")
    meta = thread("thr_x")
    assert re.fullmatch(r"thr_[0-9A-Z]{26}", store.generate_thread_id(ctx))
    for kind, prefix in ID_PREFIXES.items():
        if kind in ("thread", "attachment"):
            continue
        assert store.generate_item_id(kind, meta, ctx).startswith(prefix + "_")
    attachment_id = S3AttachmentStore(settings, store, s3=store.s3).generate_attachment_id("image/png", ctx)
    assert re.fullmatch(r"atc_[0-9A-Z]{26}", attachment_id)


async def test_ids_dynamodb_cannot_key_are_rejected_or_missing(
    store: DynamoDBStore, alice: RequestContext
) -> None:
    too_long = "thr_" + "é" * 300  # 604 bytes: over the store's 512-byte id limit
    with pytest.raises(ValueError, match="at most 512 bytes"):
        await store.save_thread(thread(too_long), alice)
    with pytest.raises(ValueError, match="item id"):
        await store.add_thread_item("thr_ok", user_message("thr_ok", "", BASE), alice)
    # Reads of such ids are simply misses, like any id the caller does not own.
    with pytest.raises(NotFoundError):
        await store.load_thread(too_long, alice)
    with pytest.raises(NotFoundError):
        await store.load_item("thr_ok", too_long, alice)
    assert (await store.load_thread_items(too_long, None, 5, "asc", alice)).data == []
    await store.delete_thread(too_long, alice)

"""The chat store's key and body codecs, without a table: formats, ordering, escaping and the size tiers."""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from task_assistant.chat.store.bodies import (
    COMPRESS_ABOVE,
    INLINE_MAX,
    decode_inline,
    decode_spilled,
    encode_body,
    spill_attributes,
    spilled_to,
)
from task_assistant.chat.store.keys import (
    MAX_ID_BYTES,
    attachment_in_reference,
    attachment_object_key,
    attachment_reference_key,
    item_spill_key,
    require_id,
    sort_key,
    thread_key,
    valid_id,
)


def test_sort_keys_order_chronologically_with_the_id_breaking_ties() -> None:
    base = datetime(2025, 1, 2, 3, 4, 5)
    moments = [base, base + timedelta(microseconds=1), base + timedelta(days=400), datetime(999, 1, 1)]
    keys = [sort_key(m, "x") for m in moments]
    assert sorted(keys) == [keys[3], keys[0], keys[1], keys[2]]
    assert sort_key(base, "a") < sort_key(base, "b")
    # Aware datetimes are compared in UTC: 05:04:05+02:00 is 03:04:05 naive-UTC.
    aware = base.replace(hour=5, tzinfo=timezone(timedelta(hours=2)))
    assert sort_key(aware, "x") == sort_key(base, "x")


def test_keys_escape_every_component() -> None:
    assert attachment_object_key("a/b", "../c") == "attachments/a%2Fb/..%2Fc"
    assert item_spill_key("u", "t/x", "i") == "spill/u/T/t%2Fx/I/i"
    assert thread_key("u", "thr_1") == {"pk": {"S": "U#u#T#thr_1"}, "sk": {"S": "THREAD"}}
    reference = attachment_reference_key("u", "thr_1", "atc_1")
    assert attachment_in_reference(reference["sk"]["S"]) == "atc_1"
    assert attachment_in_reference("ITEM#msg_1") is None


def test_ids_must_fit_in_a_key() -> None:
    assert valid_id("x" * MAX_ID_BYTES) and not valid_id("x" * (MAX_ID_BYTES + 1)) and not valid_id("")
    assert not valid_id("é" * (MAX_ID_BYTES // 2 + 1))  # bytes, not characters
    with pytest.raises(ValueError, match="item id"):
        require_id("", "item id")


def test_bodies_are_inline_then_compressed_then_spilled() -> None:
    small = b'{"a": 1}'
    body, spilled = encode_body(small)
    assert spilled is None and set(body) == {"body"} and decode_inline(body) == small

    repetitive = b"x" * (COMPRESS_ABOVE + 1)
    body, spilled = encode_body(repetitive)
    assert spilled is None and set(body) == {"bodyz"} and decode_inline(body) == repetitive

    noise = random.Random(1).randbytes(INLINE_MAX + 1024)
    body, spilled = encode_body(noise)
    assert body == {} and spilled is not None and decode_spilled(spilled) == noise
    assert zlib.decompress(spilled) == noise
    row = spill_attributes("spill/u/T/t/I/i")
    assert spilled_to(row) == "spill/u/T/t/I/i" and decode_inline(row) is None
    assert spilled_to({"body": {"S": "{}"}}) is None

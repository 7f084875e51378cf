"""Collision-proof identifiers with ChatKit's prefixes.

ChatKit's default generators return ``<prefix>_`` plus 8 hex characters (32 random bits), which gives
even odds of a collision after about 77,000 ids. These ids are ``<prefix>_`` plus a ULID: a 48-bit
millisecond timestamp and 80 random bits from :func:`os.urandom`, so two ids created in the same
millisecond collide with probability 2**-80, and ids sort roughly by creation time.

The store never relies on that ordering (assistant messages reuse the model's own ids, so item ids in
general are not time-sortable); ordering comes from ``created_at`` with the id as tie-break.
"""

from __future__ import annotations

import re
from typing import Final

import ulid
from chatkit.store import StoreItemType
from ulid import ULID, ULIDGenerator

#: ChatKit's prefix for each kind of id (the same table as ``chatkit.store._ID_PREFIXES``).
ID_PREFIXES: Final[dict[StoreItemType, str]] = {
    "thread": "thr",
    "message": "msg",
    "tool_call": "tc",
    "workflow": "wf",
    "task": "tsk",
    "attachment": "atc",
    "sdk_hidden_context": "shcx",
}

#: What every generated id looks like: a known prefix, ``_`` and a 26-character Crockford ULID.
ID_PATTERN: Final[re.Pattern[str]] = re.compile(
    r"^(?:" + "|".join(ID_PREFIXES.values()) + r")_[0-9A-HJKMNP-TV-Z]{26}$"
)


def new_id(kind: StoreItemType) -> str:
    """A fresh id for ``kind`` (``thr_01J...``); raises ``KeyError`` for an unknown kind."""
    return f"{ID_PREFIXES[kind]}_{ULID()}"


def renew_id_generator() -> None:
    """Start a new ULID generator (after a SnapStart restore).

    ``ULID()`` draws from the library's module-level generator, which remembers the last timestamp and
    randomness to stay monotonic within a millisecond; restored copies must not share that state.
    ``ulid.default_generator`` is the library's documented replacement point.
    """
    ulid.default_generator = ULIDGenerator()

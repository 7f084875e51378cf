"""Where every chat row and object lives: the key codec of the chat table and the attachments bucket.

Attribute and index names are :mod:`task_assistant.storage.tables`' constants; this module decides
what goes into them:

=========================  ===========================  =========================  ======================
row                        pk                           sk                         index keys
=========================  ===========================  =========================  ======================
thread metadata            ``U#<user>#T#<thread>``      ``THREAD``                 by_user: ``U#<user>``,
                                                                                   ``<created_at>#<thread>``
thread item                ``U#<user>#T#<thread>``      ``ITEM#<item>``            by_created:
                                                                                   ``<created_at>#<item>``
attachment reference       ``U#<user>#T#<thread>``      ``ATTACHMENT#<att>``       (none)
tool effect record         ``U#<user>#T#<thread>``      ``EFFECT#<msg>#<call>``    (none)
item feedback              ``U#<user>#T#<thread>``      ``FEEDBACK#<item>``        (none)
attachment metadata        ``U#<user>#A#<att>``         ``ATTACHMENT``             (none)
=========================  ===========================  =========================  ======================

Isolation is structural: every key starts with the caller's user id (which cannot contain ``#``), so
another user's thread, item or attachment is simply not at the key the store reads, and looks exactly
like a missing one. Feedback on an item lives in its thread's partition, so the thread's deletion takes
it along. An attachment saved with a thread id also gets a reference row in that thread's
partition, so deleting the thread finds its attachments with the same partition ``Query``. Rows without
``created`` (attachment references, tool effect records of :mod:`task_assistant.chat.effects`, feedback)
stay out of the ``by_created`` index, so item listings never see them; deleting a thread deletes them all.

Objects in the bucket are keyed the same way, every component percent-encoded: uploads under
``attachments/<user>/<att>``, bodies too large for a row under ``spill/<user>/...`` (derived from the
row's key, so rewriting a row overwrites its object).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from chatkit.types import ThreadItem, ThreadMetadata

from task_assistant.storage.tables import CHAT_CREATED, CHAT_PK, CHAT_SK, CHAT_USER_PK, CHAT_USER_SK

Row = dict[str, Any]
"""A DynamoDB item in the low-level client's attribute-value form."""

# --- sort keys ---------------------------------------------------------------------------------------

THREAD_SK: Final = "THREAD"
ITEM_PREFIX: Final = "ITEM#"
ATTACHMENT_REF_PREFIX: Final = "ATTACHMENT#"
ATTACHMENT_SK: Final = "ATTACHMENT"
EFFECT_PREFIX: Final = "EFFECT#"
FEEDBACK_PREFIX: Final = "FEEDBACK#"

#: DynamoDB caps sort keys at 1,024 bytes; ids end up in ``sk``, ``created`` and ``gsi1sk``.
MAX_ID_BYTES: Final = 512


def valid_id(value: str) -> bool:
    """Whether ``value`` can be part of a key (an id that cannot is simply not found)."""
    return bool(value) and len(value.encode("utf-8")) <= MAX_ID_BYTES


def require_id(value: str, what: str) -> None:
    """``ValueError`` unless ``value`` can be part of a key (for ids about to be written)."""
    if not valid_id(value):
        raise ValueError(f"{what} must be a non-empty string of at most {MAX_ID_BYTES} bytes (UTF-8)")


def thread_pk(user_id: str, thread_id: str) -> str:
    """Partition of one thread: its metadata, items and attachment references."""
    return f"U#{user_id}#T#{thread_id}"


def attachment_pk(user_id: str, attachment_id: str) -> str:
    """Partition of one attachment's metadata."""
    return f"U#{user_id}#A#{attachment_id}"


def user_index_pk(user_id: str) -> str:
    """``by_user`` partition holding the user's threads."""
    return f"U#{user_id}"


def sort_key(created_at: datetime, ident: str) -> str:
    """``<created_at>#<id>`` with a fixed-width timestamp, so string order is chronological.

    Naive datetimes (what ChatKit produces) are used as they are; aware ones are converted to UTC.
    The id breaks ties between equal timestamps.
    """
    dt = created_at
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond:06d}#{ident}"
    )


def attachment_in_reference(sk: str) -> str | None:
    """The attachment id of an attachment reference's sort key; ``None`` for any other row."""
    return sk[len(ATTACHMENT_REF_PREFIX) :] if sk.startswith(ATTACHMENT_REF_PREFIX) else None


# --- primary keys and key attributes of whole rows ---------------------------------------------------


def str_value(value: str) -> dict[str, str]:
    """A string in attribute-value form."""
    return {"S": value}


def key(pk: str, sk: str) -> Row:
    """A primary key in attribute-value form."""
    return {CHAT_PK: str_value(pk), CHAT_SK: str_value(sk)}


def thread_key(user_id: str, thread_id: str) -> Row:
    return key(thread_pk(user_id, thread_id), THREAD_SK)


def item_key(user_id: str, thread_id: str, item_id: str) -> Row:
    return key(thread_pk(user_id, thread_id), ITEM_PREFIX + item_id)


def attachment_key(user_id: str, attachment_id: str) -> Row:
    return key(attachment_pk(user_id, attachment_id), ATTACHMENT_SK)


def attachment_reference_key(user_id: str, thread_id: str, attachment_id: str) -> Row:
    return key(thread_pk(user_id, thread_id), ATTACHMENT_REF_PREFIX + attachment_id)


def effect_prefix(message_id: str) -> str:
    """Sort-key prefix of the tool effect records of the turn(s) answering one user message."""
    return f"{EFFECT_PREFIX}{message_id}#"


def effect_key(user_id: str, thread_id: str, message_id: str, call: str) -> Row:
    """Where the record of one changing tool call answering ``message_id`` lives."""
    return key(thread_pk(user_id, thread_id), effect_prefix(message_id) + call)


def feedback_key(user_id: str, thread_id: str, item_id: str) -> Row:
    return key(thread_pk(user_id, thread_id), FEEDBACK_PREFIX + item_id)


def thread_row(user_id: str, thread: ThreadMetadata) -> Row:
    """The attributes of ``thread``'s row other than its body: key and ``by_user`` index key."""
    require_id(thread.id, "thread id")
    return {
        **thread_key(user_id, thread.id),
        "kind": str_value("thread"),
        CHAT_USER_PK: str_value(user_index_pk(user_id)),
        CHAT_USER_SK: str_value(sort_key(thread.created_at, thread.id)),
    }


def item_row(user_id: str, thread_id: str, item: ThreadItem) -> Row:
    """The attributes of ``item``'s row other than its body: key and ``by_created`` index key."""
    require_id(thread_id, "thread id")
    require_id(item.id, "item id")
    return {
        **item_key(user_id, thread_id, item.id),
        "kind": str_value("item"),
        "item_type": str_value(item.type),
        CHAT_CREATED: str_value(sort_key(item.created_at, item.id)),
    }


# --- object keys in the attachments bucket -----------------------------------------------------------


def _q(part: str) -> str:
    # Percent-encode every key component so no id can add or remove a path level.
    return quote(part, safe="")


def attachment_object_key(user_id: str, attachment_id: str) -> str:
    """S3 key of an attachment's uploaded bytes (scoped by user)."""
    return f"attachments/{_q(user_id)}/{_q(attachment_id)}"


def thread_spill_key(user_id: str, thread_id: str) -> str:
    return f"spill/{_q(user_id)}/T/{_q(thread_id)}/THREAD"


def item_spill_key(user_id: str, thread_id: str, item_id: str) -> str:
    return f"spill/{_q(user_id)}/T/{_q(thread_id)}/I/{_q(item_id)}"


def attachment_spill_key(user_id: str, attachment_id: str) -> str:
    return f"spill/{_q(user_id)}/A/{_q(attachment_id)}"

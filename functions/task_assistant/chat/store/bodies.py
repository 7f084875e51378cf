"""How a ChatKit model is stored in its row: the body codec.

A body is the pydantic JSON of the model (lossless; naive datetimes stay naive). Up to
:data:`COMPRESS_ABOVE` bytes it is stored as a string (``body``); larger bodies are zlib-compressed into
a binary attribute (``bodyz``); if that is still over :data:`INLINE_MAX` (DynamoDB caps a row at 400 KB)
the compressed body goes to the attachments bucket and the row keeps the object's key (``spill``).
Reading and writing the spilled objects is :class:`task_assistant.chat.store.table.ChatRows`' job.
"""

from __future__ import annotations

import zlib
from typing import Final

from chatkit.types import Attachment, ThreadItem, ThreadMetadata
from pydantic import TypeAdapter

from task_assistant.chat.store.keys import Row, str_value

ITEM_ADAPTER: Final[TypeAdapter[ThreadItem]] = TypeAdapter(ThreadItem)
THREAD_ADAPTER: Final[TypeAdapter[ThreadMetadata]] = TypeAdapter(ThreadMetadata)
ATTACHMENT_ADAPTER: Final[TypeAdapter[Attachment]] = TypeAdapter(Attachment)

#: JSON bodies larger than this are zlib-compressed (fewer write/read units, more room under 400 KB).
COMPRESS_ABOVE: Final = 4 * 1024
#: Compressed bodies larger than this go to S3; the rest of the row stays far below DynamoDB's 400 KB.
INLINE_MAX: Final = 350 * 1024


def encode_body(payload: bytes) -> tuple[Row, bytes | None]:
    """Attributes that hold ``payload`` inline, or ``({}, compressed)`` when it must go to S3."""
    if len(payload) <= COMPRESS_ABOVE:
        return {"body": str_value(payload.decode("utf-8"))}, None
    compressed = zlib.compress(payload, 6)
    if len(compressed) <= INLINE_MAX:
        return {"bodyz": {"B": compressed}}, None
    return {}, compressed


def spill_attributes(object_key: str) -> Row:
    """The attributes of a row whose (compressed) body is the object at ``object_key``."""
    return {"spill": str_value(object_key)}


def spilled_to(row: Row) -> str | None:
    """The key of the object holding ``row``'s body, if it was spilled."""
    return str(row["spill"]["S"]) if "spill" in row else None


def decode_inline(row: Row) -> bytes | None:
    """``row``'s body if it is stored in the row, ``None`` if it was spilled."""
    if "body" in row:
        return str(row["body"]["S"]).encode("utf-8")
    if "bodyz" in row:
        return zlib.decompress(row["bodyz"]["B"])
    return None


def decode_spilled(data: bytes) -> bytes:
    """The body held by a spilled object's bytes."""
    return zlib.decompress(data)

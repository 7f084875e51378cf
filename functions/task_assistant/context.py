"""Who a request acts for: established once by the entry point, carried to every layer below it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    """The verified caller of one request.

    ``user_id`` comes only from a verified token (or the API Gateway authorizer's claims), never from a
    request body, a free client header or a tool argument. Stores and services scope every key by it.
    """

    user_id: str
    request_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.user_id or "#" in self.user_id:
            raise ValueError("user_id must be non-empty and must not contain '#'")

"""The script of the fake OpenAI server: what each request answers, and what it was sent.

A turn is a list of outputs (:class:`Text`, :class:`Call`), a callable that builds them from the request
body, a :class:`Transcript` (for a transcription request) or a failure (:class:`Fail`, :class:`Break`,
:class:`Hold`). See :mod:`fake_openai`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    """An assistant message, streamed in ``chunks`` deltas."""

    text: str
    chunks: int = 3


@dataclass(frozen=True)
class Call:
    """A function call to ``name`` with ``arguments``."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Fail:
    """An HTTP error before any streaming (``status``, OpenAI's error body, a short retry-after)."""

    status: int = 500
    message: str = "The server had an error while processing your request."
    type: str = "server_error"


@dataclass(frozen=True)
class Break:
    """Start streaming ``text`` and stop after ``after_deltas`` deltas, with no ``response.completed``.

    ``drop=True`` aborts the connection (the chunked body never terminates: a network failure);
    ``drop=False`` ends the HTTP response cleanly mid-answer (a provider that gives up).
    """

    text: str
    after_deltas: int = 1
    drop: bool = True


@dataclass
class Hold:
    """Stream the first delta of ``text``, then wait until :meth:`release` (for disconnect tests)."""

    text: str
    first_delta_sent: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class Transcript:
    """What a transcription request answers."""

    text: str


Output = Text | Call
Turn = list[Output] | Callable[[dict[str, Any]], list[Output]] | Fail | Break | Hold | Transcript


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

"""Dictation: the composer's recording, transcribed by the model provider's audio API.

``input.transcribe`` carries the recording (base64) and its MIME type; the widget records
``audio/webm;codecs=opus`` in Chromium and Firefox, ``audio/mp4`` in Safari, ``audio/ogg`` elsewhere. The
recording goes to ``POST <provider>/audio/transcriptions`` as a multipart upload with
``OPENAI_TRANSCRIBE_MODEL`` (default ``gpt-4o-mini-transcribe``), through the same client, key and base
URL as the chat model (:meth:`ModelFactory.client`).

Refusals are :class:`DictationError` with the HTTP status the web layer answers:

- 400: an audio type the provider does not take, or an empty recording;
- 413: a recording over ``TRANSCRIBE_MAX_BYTES``;
- 400 ``dictation_unavailable``: no model key (the offline model cannot transcribe), or dictation turned
  off with an empty ``OPENAI_TRANSCRIBE_MODEL`` (providers without an audio API: OpenRouter, Ollama);
- 503: the provider failed, refused the key or does not offer the model (the message names the setting).

Input is checked before the configuration, so a bad request gets the same answer on every deployment.
"""

from __future__ import annotations

from typing import Final

import httpx
import openai

from task_assistant.agent.models import ModelConfigurationError, ModelFactory
from task_assistant.log import logger
from task_assistant.settings import Settings

#: Audio media types the transcription API takes, and the file extension it recognises each by.
AUDIO_TYPES: Final[dict[str, str]] = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mp4": "mp4",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/flac": "flac",
}

TURNED_OFF_MESSAGE: Final = (
    "Dictation is turned off on this server (OPENAI_TRANSCRIBE_MODEL is empty: its model provider has no "
    "speech-to-text API)."
)
NEEDS_KEY_MESSAGE: Final = (
    "Dictation needs a model key: this server runs the offline model, which cannot transcribe speech. "
    "Set OPENAI_API_KEY (or OPENAI_API_KEY_SECRET_ID) to turn dictation on."
)


class DictationError(Exception):
    """A recording that was not transcribed: ``status`` and ``code`` for the HTTP answer, a clear message."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def media_type_of(mime_type: str) -> str:
    """``audio/webm`` for ``audio/webm;codecs=opus``: the part before any parameter, lower case."""
    return mime_type.split(";", 1)[0].strip().lower()


class Transcriber:
    """Transcribes recordings with the provider of ``models`` (see the module docstring)."""

    def __init__(self, models: ModelFactory, settings: Settings) -> None:
        self.models = models
        self.model_name = settings.openai_transcribe_model
        self.max_bytes = settings.transcribe_max_bytes

    def check(self, audio: bytes, mime_type: str) -> str:
        """The file extension for ``mime_type``; :class:`DictationError` for an unusable recording."""
        media_type = media_type_of(mime_type)
        extension = AUDIO_TYPES.get(media_type)
        if extension is None:
            known = ", ".join(sorted(set(AUDIO_TYPES)))
            raise DictationError(
                400, f"audio type {media_type[:80]!r} cannot be transcribed; send one of: {known}"
            )
        if not audio:
            raise DictationError(400, "the recording is empty")
        if len(audio) > self.max_bytes:
            raise DictationError(
                413,
                f"the recording is {len(audio)} bytes; dictation accepts at most {self.max_bytes} bytes "
                "(record a shorter message)",
            )
        return extension

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        """The text spoken in ``audio``; raises :class:`DictationError` (see the module docstring)."""
        extension = self.check(audio, mime_type)
        if self.models.is_offline:
            raise DictationError(400, NEEDS_KEY_MESSAGE, code="dictation_unavailable")
        if not self.model_name:
            raise DictationError(400, TURNED_OFF_MESSAGE, code="dictation_unavailable")
        try:
            client = await self.models.client()
        except ModelConfigurationError as exc:
            raise DictationError(503, exc.user_message) from exc
        try:
            result = await client.audio.transcriptions.create(
                model=self.model_name,
                file=(f"dictation.{extension}", audio, media_type_of(mime_type)),
                response_format="json",
            )
        except openai.APIError as exc:
            raise self._provider_error(exc) from exc
        except httpx.HTTPError as exc:
            logger.warning("Transcription failed", extra={"error_type": type(exc).__name__})
            raise DictationError(503, "The transcription service could not be reached; try again.") from exc
        return result.text.strip()

    def _provider_error(self, exc: openai.APIError) -> DictationError:
        status = getattr(exc, "status_code", None)
        logger.warning(
            "Transcription failed",
            extra={
                "error_type": type(exc).__name__,
                "status_code": status,
                "transcribe_model": self.model_name,
                # A rejected-key message may echo (part of) the key: keep it out of the log.
                "error": "" if isinstance(exc, openai.AuthenticationError) else str(exc)[:300],
            },
        )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return DictationError(503, "The model provider rejected the configured API key (OPENAI_API_KEY).")
        if isinstance(exc, openai.NotFoundError):
            return DictationError(
                503,
                f"The model provider does not offer the transcription model {self.model_name!r} "
                "(OPENAI_TRANSCRIBE_MODEL, OPENAI_BASE_URL).",
            )
        if isinstance(exc, openai.BadRequestError):
            return DictationError(400, "The model provider could not transcribe this recording.")
        return DictationError(503, "The transcription service failed; try again in a moment.")

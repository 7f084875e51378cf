"""Which model answers: chosen once from :class:`~task_assistant.settings.Settings`, built lazily.

============================================  =====================================================
settings                                      model
============================================  =====================================================
``OPENAI_API_KEY`` set                        OpenAI Responses API (``OPENAI_MODEL``), or any
                                              compatible provider at ``OPENAI_BASE_URL``
... and ``OPENAI_API=chat_completions``       the provider's Chat Completions API (for providers
                                              without a Responses API: OpenRouter, LiteLLM, vLLM)
``OPENAI_API_KEY_SECRET_ID`` set (AWS)        as above, the key read from Secrets Manager on the
                                              first turn (not at import or cold start)
only ``OPENAI_BASE_URL`` set                  that provider with no credentials (Ollama, vLLM and
                                              local proxies accept any key)
nothing                                       the offline model (deterministic, no network)
============================================  =====================================================

Nothing here touches the network when the factory is built, so a web process that never answers a chat
(``/health``) never reads the secret. A key that cannot be obtained (missing or empty secret, access
denied) raises :class:`ModelConfigurationError`, whose message names the setting to fix and never the
key itself; the ChatKit server shows it to the user as an error event.

A turn may ask for another model (the composer's model picker): any name in ``OPENAI_MODELS`` (see
:attr:`Settings.offered_models`), served by the same provider, client and API.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from task_assistant.log import logger
from task_assistant.settings import Settings

if TYPE_CHECKING:
    from agents.models.interface import Model
    from openai import AsyncOpenAI, Timeout

ModelKind = Literal["offline", "openai_responses", "openai_chat_completions"]

#: The modules :meth:`ModelFactory._build` imports, per kind of model.
_MODEL_MODULES = {
    "offline": ("task_assistant.agent.offline",),
    "openai": ("openai", "agents.models.openai_chatcompletions", "agents.models.openai_responses"),
}

# Placeholder credential for keyless OpenAI-compatible servers; the client refuses an empty key.
KEYLESS_PLACEHOLDER = "no-key"
# JSON secrets may hold the key under one of these names (a plain-string secret is the key itself).
_SECRET_JSON_KEYS = ("OPENAI_API_KEY", "openai_api_key", "api_key", "apiKey", "key")


#: Retries of a failed model request (connection errors, 408/409/429/5xx), the openai client's default:
#: each waits 0.5-8 s. The turn as a whole is bounded by STREAM_DEADLINE_SECONDS (web.deadline).
MODEL_MAX_RETRIES = 2
# Opening a connection to the provider takes well under a second; a provider that is down is known fast.
_MODEL_CONNECT_TIMEOUT_SECONDS = 5.0


def model_timeout(settings: Settings) -> Timeout:
    """The model client's timeouts: ``MODEL_TIMEOUT_SECONDS`` to read (the longest silence inside a
    streamed answer, or before its first byte), write and wait for a pooled connection; at most 5 s to
    connect. The openai client's default is 600 s, longer than any door allows."""
    from openai import Timeout  # the openai client's own httpx flavour

    seconds = settings.model_timeout_seconds
    return Timeout(seconds, connect=min(_MODEL_CONNECT_TIMEOUT_SECONDS, seconds))


class ModelConfigurationError(RuntimeError):
    """The configured model cannot be used.

    The message is for operators (logs): it may name resources such as a secret's id or ARN, never a
    secret's value. ``setting`` names the environment variable to fix; it is all end users are shown.
    """

    def __init__(self, message: str, *, setting: str = "OPENAI_API_KEY") -> None:
        super().__init__(message)
        self.setting = setting

    @property
    def user_message(self) -> str:
        """What the chat shows: which setting to check, without resource names or account details."""
        return (
            f"The assistant is not configured correctly (check {self.setting}); "
            "the details are in the server logs."
        )


@dataclass(frozen=True)
class ModelChoice:
    """What the settings select, known without any network call."""

    kind: ModelKind
    model_name: str
    base_url: str | None = None
    key_source: Literal["none", "environment", "secrets_manager", "keyless"] = "none"

    def describe(self) -> str:
        """A one-line, secret-free description for the startup log."""
        if self.kind == "offline":
            return "offline model (deterministic, no network; set OPENAI_API_KEY to use OpenAI)"
        api = "Responses API" if self.kind == "openai_responses" else "Chat Completions API"
        where = f"OpenAI-compatible provider at {self.base_url}" if self.base_url else "OpenAI"
        return f"{where}, {api}, model {self.model_name!r} (key from {self.key_source.replace('_', ' ')})"


def choose_model(settings: Settings) -> ModelChoice:
    """The model the settings select (see the module table); pure, no I/O."""
    has_key = settings.openai_api_key is not None and bool(settings.openai_api_key.get_secret_value())
    key_source: Literal["none", "environment", "secrets_manager", "keyless"]
    if has_key:
        key_source = "environment"
    elif settings.openai_api_key_secret_id:
        key_source = "secrets_manager"
    elif settings.openai_base_url:
        key_source = "keyless"
    else:
        return ModelChoice(kind="offline", model_name="offline")
    kind: ModelKind = (
        "openai_chat_completions" if settings.openai_api == "chat_completions" else "openai_responses"
    )
    return ModelChoice(
        kind=kind, model_name=settings.openai_model, base_url=settings.openai_base_url, key_source=key_source
    )


def dictation_available(settings: Settings) -> bool:
    """Whether dictation can work: a model provider, and a transcription model (``OPENAI_TRANSCRIBE_MODEL``).

    See :mod:`task_assistant.agent.transcription`; pure, so the page can ask without importing it.
    """
    return bool(settings.openai_transcribe_model) and choose_model(settings).kind != "offline"


def _key_from_secret(value: str | bytes | dict[str, Any] | None, secret_id: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("{"):
            try:
                value = json.loads(stripped)
            except ValueError:
                raise ModelConfigurationError(
                    f"Secrets Manager secret {secret_id!r} looks like JSON but does not parse; store the "
                    'key as plain text or as {"OPENAI_API_KEY": "..."}.',
                    setting="OPENAI_API_KEY_SECRET_ID",
                ) from None
        else:
            value = stripped
    if isinstance(value, dict):
        value = next((str(value[k]).strip() for k in _SECRET_JSON_KEYS if value.get(k)), "")
    if not value:
        raise ModelConfigurationError(
            f"Secrets Manager secret {secret_id!r} holds no OpenAI API key (it is empty, or JSON without an "
            "OPENAI_API_KEY field).",
            setting="OPENAI_API_KEY_SECRET_ID",
        )
    return str(value)


class ModelNotOffered(ValueError):
    """A turn asked for a model outside the configured allow-list (``OPENAI_MODELS``)."""

    def __init__(self, model: str, offered: list[str]) -> None:
        super().__init__(f"model {model!r} is not offered here; choose one of: {', '.join(offered)}")
        self.model = model
        self.offered = offered


class ModelFactory:
    """Builds the provider's client once, on first use, and one model per offered model name.

    ``secrets_client`` (a boto3 Secrets Manager client) is for tests and custom endpoints; by default
    Powertools builds one for ``settings.aws_region``. Powertools caches the secret for 5 minutes, but
    the client (and its HTTP connection pool) is built once per process with the key read at that time;
    every model, and dictation (:mod:`task_assistant.agent.transcription`), share it.
    """

    def __init__(self, settings: Settings, *, secrets_client: Any = None) -> None:
        self.settings = settings
        self.choice = choose_model(settings)
        self._secrets_client = secrets_client
        self._client: AsyncOpenAI | None = None
        self._models: dict[str, Model] = {}
        self._lock = asyncio.Lock()
        self._client_lock = asyncio.Lock()

    @property
    def is_offline(self) -> bool:
        return self.choice.kind == "offline"

    @property
    def offered(self) -> list[str]:
        """The model names a turn may ask for, the default (``OPENAI_MODEL``) first."""
        return self.settings.offered_models

    def describe(self) -> str:
        return self.choice.describe()

    async def get_model(self, name: str | None = None) -> Model:
        """The model called ``name`` (default: ``OPENAI_MODEL``), built on first use.

        Raises :class:`ModelNotOffered` for a name outside :attr:`offered` and
        :class:`ModelConfigurationError` when the provider's client cannot be built. Without a provider
        the offline model answers, whatever the name (the HTTP gate has checked it against the list).
        """
        name = name or self.choice.model_name
        if not self.is_offline and name not in self.offered:
            raise ModelNotOffered(name, self.offered)
        key = "offline" if self.is_offline else name
        model = self._models.get(key)
        if model is not None:
            return model
        async with self._lock:
            if key not in self._models:
                self._models[key] = await self._build(name)
        return self._models[key]

    async def client(self) -> AsyncOpenAI:
        """The provider's client; raises :class:`ModelConfigurationError` (or ``RuntimeError`` offline)."""
        if self.is_offline:
            raise RuntimeError("the offline model has no provider client")
        if self._client is None:
            async with self._client_lock:
                if self._client is None:
                    from openai import AsyncOpenAI

                    api_key = await self._api_key()
                    self._client = AsyncOpenAI(
                        api_key=api_key,
                        base_url=self.choice.base_url or None,
                        timeout=model_timeout(self.settings),
                        max_retries=MODEL_MAX_RETRIES,
                    )
        return self._client

    def import_model_modules(self) -> None:
        """Import what building the selected model imports, without building it (no key is read).

        Before a SnapStart snapshot: the first turn after a restore then pays no imports.
        """
        for module in _MODEL_MODULES["offline" if self.choice.kind == "offline" else "openai"]:
            importlib.import_module(module)

    def forget(self) -> None:
        """Drop the built models and the provider client: the next turn reads the key again and opens new
        connections.

        After a SnapStart restore, a model built before the snapshot would share its HTTP connections
        (and the key read then) with every restored copy.
        """
        self._models.clear()
        self._client = None

    async def _api_key(self) -> str:
        settings = self.settings
        if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
            return settings.openai_api_key.get_secret_value()
        if settings.openai_api_key_secret_id:
            return await self._read_secret(settings.openai_api_key_secret_id)
        return KEYLESS_PLACEHOLDER

    async def _read_secret(self, secret_id: str) -> str:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        from task_assistant.storage.clients import aws_client_config, run_sync

        if self._secrets_client is not None:
            provider = SecretsProvider(boto3_client=self._secrets_client)
        else:
            # The same timeouts and retries as every other AWS call (storage.clients).
            provider = SecretsProvider(boto_config=aws_client_config(self.settings))
        try:
            value = await run_sync(provider.get, secret_id)
        except Exception as exc:
            # The cause (access denied, not found, throttled) is logged for operators; the message
            # shown to users names only the setting. Secret values never reach either.
            logger.error(
                "Could not read the OpenAI API key from Secrets Manager",
                extra={"secret_id": secret_id, "error_type": type(exc).__name__, "error": str(exc)},
            )
            raise ModelConfigurationError(
                f"The OpenAI API key could not be read from Secrets Manager secret {secret_id!r} "
                "(OPENAI_API_KEY_SECRET_ID): check that it exists and that the function may read it.",
                setting="OPENAI_API_KEY_SECRET_ID",
            ) from exc
        return _key_from_secret(value, secret_id)

    async def _build(self, name: str) -> Model:
        if self.is_offline:
            from task_assistant.agent.offline import OfflineModel

            return OfflineModel()

        from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
        from agents.models.openai_responses import OpenAIResponsesModel

        client = await self.client()
        if self.choice.kind == "openai_chat_completions":
            return OpenAIChatCompletionsModel(model=name, openai_client=client)
        return OpenAIResponsesModel(model=name, openai_client=client)

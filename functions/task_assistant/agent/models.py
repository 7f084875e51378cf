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


class ModelFactory:
    """Builds the selected model once, on first use, and reuses it for every turn.

    ``secrets_client`` (a boto3 Secrets Manager client) is for tests and custom endpoints; by default
    Powertools builds one for ``settings.aws_region``. Powertools caches the secret for 5 minutes, but
    the model (and its HTTP connection pool) is built once per process with the key read at that time.
    """

    def __init__(self, settings: Settings, *, secrets_client: Any = None) -> None:
        self.settings = settings
        self.choice = choose_model(settings)
        self._secrets_client = secrets_client
        self._model: Model | None = None
        self._lock = asyncio.Lock()

    @property
    def is_offline(self) -> bool:
        return self.choice.kind == "offline"

    def describe(self) -> str:
        return self.choice.describe()

    async def get_model(self) -> Model:
        """The model for this process; raises :class:`ModelConfigurationError` when it cannot be built."""
        if self._model is not None:
            return self._model
        async with self._lock:
            if self._model is None:
                self._model = await self._build()
        return self._model

    def import_model_modules(self) -> None:
        """Import what building the selected model imports, without building it (no key is read).

        Before a SnapStart snapshot: the first turn after a restore then pays no imports.
        """
        for module in _MODEL_MODULES["offline" if self.choice.kind == "offline" else "openai"]:
            importlib.import_module(module)

    def forget(self) -> None:
        """Drop the built model: the next turn reads the key again and opens new connections.

        After a SnapStart restore, a model built before the snapshot would share its HTTP connections
        (and the key read then) with every restored copy.
        """
        self._model = None

    async def _api_key(self) -> str:
        settings = self.settings
        if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
            return settings.openai_api_key.get_secret_value()
        if settings.openai_api_key_secret_id:
            return await self._read_secret(settings.openai_api_key_secret_id)
        return KEYLESS_PLACEHOLDER

    async def _read_secret(self, secret_id: str) -> str:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from botocore.config import Config

        from task_assistant.storage.clients import run_sync

        if self._secrets_client is not None:
            provider = SecretsProvider(boto3_client=self._secrets_client)
        else:
            provider = SecretsProvider(boto_config=Config(region_name=self.settings.aws_region))
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

    async def _build(self) -> Model:
        choice = self.choice
        if choice.kind == "offline":
            from task_assistant.agent.offline import OfflineModel

            return OfflineModel()

        from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
        from agents.models.openai_responses import OpenAIResponsesModel
        from openai import AsyncOpenAI

        client = AsyncOpenAI(api_key=await self._api_key(), base_url=choice.base_url or None)
        if choice.kind == "openai_chat_completions":
            return OpenAIChatCompletionsModel(model=choice.model_name, openai_client=client)
        return OpenAIResponsesModel(model=choice.model_name, openai_client=client)

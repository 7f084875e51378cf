"""The one settings object: every endpoint, name, secret and limit comes from the environment.

Each field reads the environment variable of the same name in upper case (``CHAT_TABLE_NAME`` for
``chat_table_name``). The README's configuration table lists them all; a deployment writes them with
:func:`settings_env`, so no variable name is spelled outside this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: CloudWatch namespace of the app's metrics unless POWERTOOLS_METRICS_NAMESPACE says otherwise.
METRICS_NAMESPACE = "TaskAssistant"


class Settings(BaseSettings):
    """Typed configuration for every entry point (Lambda, local server, CLI tools)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: str = Field("local", description="Deployment environment name (local, dev, prod...).")
    aws_region: str = Field("us-east-1", description="AWS region for DynamoDB, S3 and Secrets Manager.")

    # Storage
    dynamodb_endpoint_url: str | None = Field(None, description="DynamoDB endpoint; unset means AWS.")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint; unset means AWS.")
    chat_table_name: str = Field("task-assistant-chat", description="Threads, items, attachments.")
    tasks_table_name: str = Field("task-assistant-tasks", description="Tasks, one partition per user.")
    attachments_bucket: str = Field("task-assistant-attachments", description="Attachment objects.")
    item_ttl_days: int | None = Field(None, ge=1, description="Expire chat data after N days (unset: keep).")
    presigned_url_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)
    max_attachment_bytes: int = Field(20 * 1024 * 1024, ge=1)
    aws_connect_timeout_seconds: float = Field(
        1.0, gt=0, le=60, description="Per attempt: opening a connection (TCP and TLS) to DynamoDB, S3, ..."
    )
    aws_read_timeout_seconds: float = Field(
        2.0, gt=0, le=120, description="Per attempt: silence on an open AWS connection before giving up."
    )
    aws_max_attempts: int = Field(
        3, ge=1, le=10, description="Attempts per AWS call, first included (botocore standard retry mode)."
    )

    # Authentication (Cognito or the local issuer)
    jwt_issuer: str | None = Field(None, description="Expected `iss` claim.")
    jwks_url: str | None = Field(None, description="JWKS URL; set separately from the issuer.")
    jwt_client_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Accepted app client ids (comma separated)."
    )
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)

    # Model
    openai_api_key: SecretStr | None = Field(None, description="OpenAI (or compatible) API key.")
    openai_api_key_secret_id: str | None = Field(
        None, description="Secrets Manager id holding the key (used in AWS when OPENAI_API_KEY is unset)."
    )
    openai_base_url: str | None = Field(None, description="OpenAI-compatible base URL.")
    openai_model: str = Field("gpt-4.1-mini", description="Model name (the default of the model picker).")
    openai_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Models the composer's picker may choose (comma separated); OPENAI_MODEL is always one.",
    )
    openai_api: Literal["responses", "chat_completions"] = Field(
        "responses", description="Which OpenAI API the provider speaks."
    )
    model_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=900,
        description="Per model request: the longest wait for the provider (to connect: at most 5 s).",
    )
    history_max_items: int = Field(30, ge=1, le=500, description="Thread items sent to the model per turn.")
    openai_transcribe_model: str = Field(
        "gpt-4o-mini-transcribe",
        description="Dictation: the provider's speech-to-text model (empty: dictation off).",
    )
    transcribe_max_bytes: int = Field(
        768 * 1024,
        ge=1024,
        le=25 * 1024 * 1024,
        description="Dictation: largest recording accepted (its base64 must also fit in MAX_BODY_BYTES).",
    )

    # HTTP
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    page_size_cap: int = Field(100, ge=1, le=1000)
    rate_limit_per_minute: int = Field(60, ge=0, description="Requests per user per minute (0: off).")
    rate_limit_timeout_seconds: float = Field(
        0.3, gt=0, le=5, description="Budget of the rate-limit check; past it the request is let through."
    )
    request_deadline_seconds: float = Field(
        25.0,
        gt=0,
        le=900,
        description="Budget of a request until its response starts (JSON answers, and streams until the "
        "stream opens); past it: 503 with Retry-After. Keep it below the door's limit (API Gateway: 29 s).",
    )
    stream_deadline_seconds: float = Field(
        280.0,
        gt=0,
        le=900,
        description="Budget of a streamed ChatKit turn from request to last event; past it the turn is "
        "stopped (the partial answer saved) and ends with an error event. Keep it below the streaming "
        "function's timeout.",
    )

    # The page to try the assistant in a browser (`GET /`, see task_assistant.web.page)
    page_url: str | None = Field(
        None,
        description=(
            "Public URL of the page, ending in '/' (Cognito redirect and sign-out URI; ChatKit is at "
            "<page url>chatkit). Unset: taken from the request."
        ),
    )
    page_auth_domain: str | None = Field(
        None,
        description="Cognito managed login base URL (https://<prefix>.auth.<region>.amazoncognito.com); "
        "set: the page signs in with authorization code + PKCE.",
    )
    page_client_id: str | None = Field(
        None, description="App client id the page signs in with; unset: the first of JWT_CLIENT_IDS."
    )
    chatkit_domain_key: str = Field(
        "local-dev",
        description="domainKey handed to the ChatKit web component (register the page's domain with "
        "OpenAI for a real one; any value works on localhost).",
    )

    log_level: str = Field("INFO")
    powertools_metrics_namespace: str = Field(
        METRICS_NAMESPACE, description="CloudWatch namespace of the Powertools metrics."
    )

    # SnapStart through the Lambda Web Adapter (>= v1.1.0): the adapter's own variables, set by the stack
    # when SnapStart is on. The app serves its snapshot hooks at these paths (task_assistant.web.snapstart).
    aws_lwa_snapstart_before_checkpoint_path: str | None = Field(
        None, description="Path the adapter POSTs to before the snapshot (the app warms up there)."
    )
    aws_lwa_snapstart_after_restore_path: str | None = Field(
        None, description="Path the adapter POSTs to after a restore (the app renews shared state)."
    )

    # Local mode only (`make dev`, `task-assistant-token`, `task-assistant-chat --local-user`)
    local_data_dir: str = Field(
        ".local-data",
        description="Local mode: where the local issuer's key and the data snapshot are kept.",
    )

    @field_validator("jwt_client_ids", "cors_origins", "openai_models", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("page_url", "page_auth_domain")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        name = str(info.field_name)
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{name.upper()} must be an http(s) URL, got {value!r}")
        if name == "page_url":
            # Relative URLs on the page (web/page.js, chatkit) resolve against it: it must name a directory.
            return value if value.endswith("/") else value + "/"
        return value.rstrip("/")

    @property
    def offered_models(self) -> list[str]:
        """The models a turn may ask for: ``OPENAI_MODEL`` first, then ``OPENAI_MODELS`` in order."""
        return list(dict.fromkeys([self.openai_model, *self.openai_models]))

    @model_validator(mode="after")
    def _history_fits_one_page(self) -> Settings:
        # History is one newest-first Query bounded by the page cap; a larger bound would be cut silently.
        if self.history_max_items > self.page_size_cap:
            raise ValueError(
                f"HISTORY_MAX_ITEMS ({self.history_max_items}) must not exceed "
                f"PAGE_SIZE_CAP ({self.page_size_cap})"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()


#: A value a deployment sets a field to: text, a number, a list (written comma separated) or None (unset).
EnvValue = str | int | Sequence[str] | None


def settings_env(**values: EnvValue) -> dict[str, str]:
    """The environment variables that set the given :class:`Settings` fields, keyed by variable name.

    Keywords are field names; one that is not a field raises ``ValueError``, so a deployment cannot
    set a variable the app never reads. Lists are joined with commas (as the fields split them),
    numbers written in decimal, and ``None`` leaves the variable out so the field keeps its default.
    Values are not validated here: a deployment's values may be placeholders resolved later.
    """
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ValueError(f"not fields of Settings: {', '.join(unknown)}")
    return {_env_name(name): _env_text(value) for name, value in values.items() if value is not None}


def _env_name(field: str) -> str:
    info = Settings.model_fields[field]
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    return f"{Settings.model_config.get('env_prefix', '')}{alias or field}".upper()


def _env_text(value: str | int | Sequence[str]) -> str:
    if isinstance(value, str | int):
        return str(value)
    return ",".join(value)

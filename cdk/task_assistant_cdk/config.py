"""Typed per-environment configuration for the stack.

``cdk synth -c env=<name>`` picks one of :data:`ENVIRONMENTS`; single values can be
overridden from the CDK context without editing code, e.g.
``-c alarm_email=ops@example.com -c cors_origins=https://app.example.com``
(see :func:`load_config`). Pydantic validates every value, so a typo in a context override
fails synthesis with a message naming the field instead of deploying something odd.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Architecture = Literal["arm64", "x86_64"]

#: CloudWatch Logs accepts only these retention periods (days).
VALID_LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653)


class ConfigError(ValueError):
    """The requested environment or a context override is invalid."""


class EnvironmentConfig(BaseModel):
    """Everything that differs between environments. Immutable once loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Literal["dev", "staging", "prod"]
    prefix: str = Field(description="Prefix of names (stack name, dashboard, alarm names).")
    retain_data: bool = Field(description="RETAIN tables, bucket, user pool and logs on stack deletion.")
    point_in_time_recovery: bool = Field(description="DynamoDB point-in-time recovery (35 days).")
    log_retention_days: int = Field(description="CloudWatch Logs retention of functions and API access logs.")
    cors_origins: tuple[str, ...] = Field(description="Browser origins allowed by the API, URL and bucket.")
    callback_urls: tuple[str, ...] = Field(
        description="OAuth (authorization code + PKCE) redirect URLs of your frontends; the stack's own "
        "page (PageUrl) is always added."
    )
    logout_urls: tuple[str, ...] = Field(
        description="OAuth sign-out redirect URLs; the stack's own page (PageUrl) is always added."
    )
    self_sign_up: bool = Field(
        default=False, description="Let anyone create an account (else admins create users)."
    )
    mfa: Literal["off", "optional", "required"] = Field(default="optional", description="Cognito MFA (TOTP).")
    openai_model: str = Field(default="gpt-4.1-mini", description="Model name passed to the app.")
    offline_model: bool = Field(
        default=False,
        description="Run the deterministic offline model (no key needed: a smoke test of a deployment).",
    )
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL; unset = OpenAI."
    )
    architecture: Architecture = Field(
        default="arm64", description="Lambda CPU architecture (and layer build)."
    )
    streaming_memory_mb: int = Field(default=1024, ge=128, le=10240)
    streaming_timeout_seconds: int = Field(default=300, ge=10, le=900, description="Longest ChatKit turn.")
    api_memory_mb: int = Field(default=512, ge=128, le=10240)
    api_timeout_seconds: int = Field(
        default=29,
        ge=3,
        le=29,
        description="API function timeout; buffered API Gateway integrations end at 29 s.",
    )
    streaming_reserved_concurrency: int | None = Field(default=None, ge=1)
    api_reserved_concurrency: int | None = Field(default=None, ge=1)
    api_throttle_rate: float = Field(default=50, gt=0, description="API Gateway steady requests per second.")
    api_throttle_burst: int = Field(default=100, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(
        default=60, ge=0, description="Per-user requests per minute in the app."
    )
    item_ttl_days: int | None = Field(
        default=None, ge=1, description="Expire chat data (and attachments) after N days."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    alarm_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Subscribed to the alarm topic when set.",
    )
    lwa_layer_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$",
        description="Lambda Web Adapter layer version ARN; overrides the per-region data "
        "(task_assistant_cdk.web_adapter.LWA_LAYERS). With snapstart it must be v1.1.0 or later.",
    )
    snapstart: bool = Field(
        default=False,
        description="Lambda SnapStart on both functions: published versions behind the 'live' alias, "
        "restored from a snapshot taken after the app warmed up (see docs/deploy.md for the price).",
    )
    api_execution_logging: Literal["off", "ERROR", "INFO"] = Field(
        default="off",
        description="API Gateway execution logs of the stage. Needs the account's API Gateway CloudWatch "
        "Logs role, which this stack never creates (one setting per account and region).",
    )
    auth_domain_prefix: str | None = Field(
        default=None, description="Cognito hosted-UI domain prefix; default <prefix>-<account id>."
    )
    chatkit_domain_key: str = Field(
        default="local-dev",
        min_length=1,
        description="domainKey the page hands the ChatKit web component; register the page's domain "
        "(PageUrl output) in OpenAI's domain allowlist for a real one.",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        if value not in VALID_LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days must be one of {VALID_LOG_RETENTION_DAYS}, got {value}")
        return value

    @field_validator("cors_origins", "callback_urls", "logout_urls", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("cors_origins", "callback_urls", "logout_urls")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("https://", "http://localhost", "http://127.0.0.1")):
                raise ValueError(f"{url!r}: only https:// (or http://localhost for development) is allowed")
        return value

    @property
    def stack_name(self) -> str:
        return f"TaskAssistant-{self.name}"


_LOCAL_ORIGINS = ("http://localhost:5173", "http://localhost:3000")

ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    "dev": EnvironmentConfig(
        name="dev",
        prefix="task-assistant-dev",
        retain_data=False,
        point_in_time_recovery=False,
        log_retention_days=7,
        cors_origins=_LOCAL_ORIGINS,
        callback_urls=("http://localhost:5173/callback", "http://localhost:3000/callback"),
        logout_urls=("http://localhost:5173/", "http://localhost:3000/"),
        self_sign_up=True,
        item_ttl_days=30,
        log_level="DEBUG",
        api_throttle_rate=10,
        api_throttle_burst=20,
    ),
    "staging": EnvironmentConfig(
        name="staging",
        prefix="task-assistant-staging",
        retain_data=False,
        point_in_time_recovery=True,
        log_retention_days=30,
        cors_origins=("https://staging.tasks.example.com",),
        callback_urls=("https://staging.tasks.example.com/callback",),
        logout_urls=("https://staging.tasks.example.com/",),
        item_ttl_days=90,
    ),
    "prod": EnvironmentConfig(
        name="prod",
        prefix="task-assistant-prod",
        retain_data=True,
        point_in_time_recovery=True,
        log_retention_days=365,
        cors_origins=("https://tasks.example.com",),
        callback_urls=("https://tasks.example.com/callback",),
        logout_urls=("https://tasks.example.com/",),
        streaming_memory_mb=1769,  # one full vCPU: the turn is CPU-bound between model chunks
        snapstart=True,  # no import cost on the first turn after a cold start
        streaming_reserved_concurrency=50,
        api_reserved_concurrency=50,
        api_throttle_rate=100,
        api_throttle_burst=200,
        log_level="INFO",
    ),
}

#: Fields fixed per environment: a context override of one of these is refused, never ignored.
FIXED = ("name", "prefix", "retain_data")
#: Fields that may be overridden with ``-c <field>=<value>``.
OVERRIDABLE = tuple(name for name in EnvironmentConfig.model_fields if name not in FIXED)
#: Context keys the app reads besides the overridable fields.
APP_CONTEXT_KEYS = ("env", "layer_dir")
#: Context keys of CDK itself that carry no ``:``, ``/`` or ``@`` (``cdk acknowledge`` writes this one).
CDK_PLAIN_CONTEXT_KEYS = frozenset({"acknowledged-issue-numbers"})


def is_cdk_context_key(key: str) -> bool:
    """CDK's own context: feature flags (``@aws-cdk/...``), ``aws:cdk:*`` settings, cached lookups
    (``availability-zones:account=...``) and ``acknowledged-issue-numbers``."""
    return key.startswith("@") or ":" in key or "/" in key or key in CDK_PLAIN_CONTEXT_KEYS


def check_context_keys(keys: Iterable[str]) -> None:
    """Refuse a context key the app does not know (a typo would otherwise be silently ignored)."""
    known = (*APP_CONTEXT_KEYS, *OVERRIDABLE)
    unknown = sorted(key for key in keys if not is_cdk_context_key(key) and key not in known)
    fixed = [key for key in unknown if key in FIXED]
    if fixed:
        raise ConfigError(
            f"{', '.join(fixed)} cannot be set with -c: fixed per environment in "
            "cdk/task_assistant_cdk/config.py (choose the environment with -c env=<name>)"
        )
    if unknown:
        hints = {key: difflib.get_close_matches(key, known, n=1) for key in unknown}
        named = ", ".join(
            f"{key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "") for key, hint in hints.items()
        )
        raise ConfigError(f"unknown context key {named}; the known keys are: {', '.join(known)}")


def load_config(env_name: str | None, context: Mapping[str, Any] | None = None) -> EnvironmentConfig:
    """The config for ``env_name`` with any CDK context overrides applied and validated.

    ``context`` maps field names to values (strings from ``-c`` or JSON from cdk.json); other keys
    (CDK's own) are ignored here: :func:`check_context_keys` refuses the unknown ones.
    """
    if not env_name:
        raise ConfigError(f"choose an environment with -c env=<name>; one of {sorted(ENVIRONMENTS)}")
    try:
        base = ENVIRONMENTS[env_name]
    except KeyError:
        raise ConfigError(f"unknown environment {env_name!r}; choose one of {sorted(ENVIRONMENTS)}") from None
    overrides = {key: value for key, value in (context or {}).items() if key in OVERRIDABLE}
    if not overrides:
        return base
    try:
        return EnvironmentConfig.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise ConfigError(f"invalid override for environment {env_name!r}: {exc}") from exc

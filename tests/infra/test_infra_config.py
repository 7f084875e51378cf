"""Per-environment configuration: typed, validated, overridable from the CDK context."""

from __future__ import annotations

import pytest

from task_assistant_cdk.config import (
    APP_CONTEXT_KEYS,
    ENVIRONMENTS,
    OVERRIDABLE,
    ConfigError,
    EnvironmentConfig,
    check_context_keys,
    load_config,
)


def test_three_environments_with_prod_keeping_data() -> None:
    assert set(ENVIRONMENTS) == {"dev", "staging", "prod"}
    prod, dev = ENVIRONMENTS["prod"], ENVIRONMENTS["dev"]
    assert prod.retain_data and prod.point_in_time_recovery
    assert not dev.retain_data and not dev.point_in_time_recovery
    assert all(origin.startswith("https://") for origin in prod.cors_origins)
    assert {c.prefix for c in ENVIRONMENTS.values()} == {
        "task-assistant-dev",
        "task-assistant-staging",
        "task-assistant-prod",
    }


def test_missing_or_unknown_environment_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="-c env=<name>"):
        load_config(None)
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        load_config("qa")


def test_context_overrides_are_validated_and_typed() -> None:
    config = load_config(
        "dev",
        {
            "alarm_email": "ops@example.com",
            "cors_origins": "https://a.example.com, https://b.example.com",
            "streaming_memory_mb": "2048",
            "aws:cdk:some-flag": True,  # CDK's own context is ignored
        },
    )
    assert config.alarm_email == "ops@example.com"
    assert config.cors_origins == ("https://a.example.com", "https://b.example.com")
    assert config.streaming_memory_mb == 2048
    assert ENVIRONMENTS["dev"].alarm_email is None  # the defaults are untouched


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"log_retention_days": "10"}, "log_retention_days"),
        ({"cors_origins": "http://evil.example.com"}, "only https://"),
        ({"streaming_timeout_seconds": "901"}, "streaming_timeout_seconds"),
        ({"architecture": "sparc"}, "architecture"),
        ({"alarm_email": "not-an-address"}, "alarm_email"),
        ({"api_timeout_seconds": "60"}, "api_timeout_seconds"),
    ],
)
def test_bad_overrides_name_the_field(override: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config("prod", override)


def test_identity_fields_cannot_be_overridden() -> None:
    config = load_config("prod", {"retain_data": "false", "name": "dev", "prefix": "x"})
    assert config.retain_data is True and config.name == "prod"


def test_config_is_immutable() -> None:
    with pytest.raises(ValueError, match="frozen"):
        ENVIRONMENTS["dev"].retain_data = True  # type: ignore[misc]  # the write mypy refuses is the test
    assert EnvironmentConfig.model_config.get("extra") == "forbid"


def test_snapstart_is_on_in_prod_only_by_default_and_overridable() -> None:
    assert ENVIRONMENTS["prod"].snapstart is True
    assert ENVIRONMENTS["dev"].snapstart is False and ENVIRONMENTS["staging"].snapstart is False
    assert load_config("dev", {"snapstart": "true"}).snapstart is True
    assert load_config("prod", {"snapstart": "false"}).snapstart is False


def test_execution_logging_is_off_everywhere_unless_asked_for() -> None:
    assert {c.api_execution_logging for c in ENVIRONMENTS.values()} == {"off"}
    assert load_config("prod", {"api_execution_logging": "ERROR"}).api_execution_logging == "ERROR"
    with pytest.raises(ConfigError, match="api_execution_logging"):
        load_config("prod", {"api_execution_logging": "verbose"})


def test_lwa_layer_arn_override_must_be_a_layer_version_arn() -> None:
    arn = "arn:aws:lambda:me-south-1:123456789012:layer:MyAdapterCopy:3"
    assert load_config("dev", {"lwa_layer_arn": arn}).lwa_layer_arn == arn
    with pytest.raises(ConfigError, match="lwa_layer_arn"):
        load_config("dev", {"lwa_layer_arn": "LambdaAdapterLayerArm64:30"})


def test_known_context_keys_and_cdks_own_pass() -> None:
    check_context_keys(
        [
            *APP_CONTEXT_KEYS,
            *OVERRIDABLE,
            "@aws-cdk/core:enablePartitionLiterals",  # feature flags from cdk.json
            "aws:cdk:bundling-stacks",  # set by the CLI
            "availability-zones:account=123456789012:region=eu-west-1",  # cached lookups
            "acknowledged-issue-numbers",  # `cdk acknowledge`
        ]
    )


def test_deadlines_keep_a_margin_under_each_timeout() -> None:
    from task_assistant_cdk.functions import deadline_below

    assert deadline_below(29, 4) == 25  # API Gateway's 29 s
    assert deadline_below(300, 20) == 280  # the streaming function's default
    assert deadline_below(10, 20) == 8  # short timeouts keep a fifth
    assert deadline_below(3, 4) == 2  # and at least a second


def test_unknown_context_key_fails_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        check_context_keys(["env", "alarm_emial", "lwa_layer_version"])
    message = str(info.value)
    assert "unknown context key 'alarm_emial' (did you mean 'alarm_email'?)" in message
    assert "'lwa_layer_version'" in message  # removed: the layer version now comes per region
    assert all(key in message for key in (*APP_CONTEXT_KEYS, *OVERRIDABLE))


def test_fixed_fields_in_the_context_fail_instead_of_being_ignored() -> None:
    with pytest.raises(ConfigError, match="retain_data cannot be set with -c"):
        check_context_keys(["env", "retain_data"])

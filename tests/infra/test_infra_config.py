"""Per-environment configuration: typed, validated, overridable from the CDK context."""

from __future__ import annotations

import pytest

from task_assistant_cdk.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, load_config
from task_assistant_cdk.functions import lwa_layer_arn


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


def test_lwa_layer_arns() -> None:
    assert (
        lwa_layer_arn("eu-west-1", "arm64", 25)
        == "arn:aws:lambda:eu-west-1:753240598075:layer:LambdaAdapterLayerArm64:25"
    )
    assert lwa_layer_arn("us-east-1", "x86_64", 25).endswith(":753240598075:layer:LambdaAdapterLayerX86:25")
    assert (
        lwa_layer_arn("cn-north-1", "x86_64", 25)
        == "arn:aws-cn:lambda:cn-north-1:041581134020:layer:LambdaAdapterLayerX86:25"
    )
    with pytest.raises(ValueError, match="lwa_layer_arn"):
        lwa_layer_arn("cn-north-1", "arm64", 25)


def test_deadlines_keep_a_margin_under_each_timeout() -> None:
    from task_assistant_cdk.functions import deadline_below

    assert deadline_below(29, 4) == 25  # API Gateway's 29 s
    assert deadline_below(300, 20) == 280  # the streaming function's default
    assert deadline_below(10, 20) == 8  # short timeouts keep a fifth
    assert deadline_below(3, 4) == 2  # and at least a second

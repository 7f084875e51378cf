"""The settings object: environment parsing and cross-field rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from task_assistant.settings import Settings, settings_env


def test_lists_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_CLIENT_IDS", " web-client , cli-client,,")
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    settings = Settings()
    assert settings.jwt_client_ids == ["web-client", "cli-client"]
    assert settings.cors_origins == ["https://app.example.com"]


def test_history_bound_larger_than_the_page_cap_is_refused() -> None:
    # The history is one page; a bound over the cap would silently send fewer items than configured.
    with pytest.raises(ValidationError, match="HISTORY_MAX_ITEMS"):
        Settings(history_max_items=200, page_size_cap=100)
    assert Settings(history_max_items=100, page_size_cap=100).history_max_items == 100


def test_metrics_namespace_comes_from_powertools_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().powertools_metrics_namespace == "TaskAssistant"
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Acme/Tasks")
    assert Settings().powertools_metrics_namespace == "Acme/Tasks"


def test_page_url_names_a_directory_and_urls_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGE_URL", "https://abc.execute-api.eu-west-1.amazonaws.com/dev")
    monkeypatch.setenv("PAGE_AUTH_DOMAIN", "https://tasks.auth.eu-west-1.amazoncognito.com/")
    settings = Settings()
    assert settings.page_url == "https://abc.execute-api.eu-west-1.amazonaws.com/dev/"
    assert settings.page_auth_domain == "https://tasks.auth.eu-west-1.amazoncognito.com"
    assert Settings(page_url="").page_url is None
    with pytest.raises(ValidationError, match="PAGE_AUTH_DOMAIN must be an http"):
        Settings(page_auth_domain="tasks.auth.eu-west-1.amazoncognito.com")


def test_settings_env_names_variables_that_read_back_as_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    env = settings_env(
        chat_table_name="chat-dev",
        cors_origins=("https://a.example.com", "https://b.example.com"),
        item_ttl_days=30,
        openai_base_url=None,
    )
    assert env == {
        "CHAT_TABLE_NAME": "chat-dev",
        "CORS_ORIGINS": "https://a.example.com,https://b.example.com",
        "ITEM_TTL_DAYS": "30",
    }
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.chat_table_name == "chat-dev"
    assert settings.cors_origins == ["https://a.example.com", "https://b.example.com"]
    assert settings.item_ttl_days == 30
    assert settings.openai_base_url is None


def test_settings_env_refuses_a_name_that_is_no_field() -> None:
    # A typo in the stack must fail synthesis, not deploy a variable nothing reads.
    with pytest.raises(ValueError, match="chat_table"):
        settings_env(chat_table="chat-dev", log_level="INFO")


def test_offered_models_start_with_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().offered_models == ["gpt-4.1-mini"], "by default only OPENAI_MODEL"
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1")
    monkeypatch.setenv("OPENAI_MODELS", "gpt-4.1-mini, gpt-4.1 ,o4-mini,")
    settings = Settings()
    assert settings.openai_models == ["gpt-4.1-mini", "gpt-4.1", "o4-mini"]
    assert settings.offered_models == ["gpt-4.1", "gpt-4.1-mini", "o4-mini"]


def test_dictation_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().openai_transcribe_model, Settings().transcribe_max_bytes) == (
        "gpt-4o-mini-transcribe",
        768 * 1024,
    )
    with pytest.raises(ValidationError, match="transcribe_max_bytes"):
        Settings(transcribe_max_bytes=26 * 1024 * 1024)  # over the provider's 25 MB upload limit

"""The widget options the page config carries: feedback, dictation and the model picker per settings."""

from __future__ import annotations

from pydantic import SecretStr

from task_assistant.settings import Settings
from task_assistant.web.page import page_config, widget_options


def test_offline_model_gets_feedback_buttons_only() -> None:
    assert widget_options(Settings()) == {"threadItemActions": {"feedback": True}}


def test_a_model_key_turns_on_dictation_and_a_choice_of_models_the_picker() -> None:
    keyed = Settings(openai_api_key=SecretStr("sk-x"))
    assert widget_options(keyed) == {
        "threadItemActions": {"feedback": True},
        "composer": {"dictation": {"enabled": True}},
    }
    choice = keyed.model_copy(
        update={"openai_model": "gpt-4.1-mini", "openai_models": ["gpt-4.1", "o4-mini"]}
    )
    assert widget_options(choice)["composer"]["models"] == [
        {"id": "gpt-4.1-mini", "label": "gpt-4.1-mini", "default": True},
        {"id": "gpt-4.1", "label": "gpt-4.1"},
        {"id": "o4-mini", "label": "o4-mini"},
    ]
    no_audio = choice.model_copy(update={"openai_transcribe_model": ""})  # OpenRouter, Ollama: no audio API
    assert "dictation" not in widget_options(no_audio)["composer"]
    assert "composer" not in widget_options(keyed.model_copy(update={"openai_transcribe_model": ""}))
    config = page_config(choice, "https://example.com/", None)
    assert config["chatkit"]["options"] == widget_options(choice)

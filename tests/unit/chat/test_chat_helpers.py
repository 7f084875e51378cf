"""Model selection, thread titles, progress texts and the task list widget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from chatkit.types import (
    FileAttachment,
    InferenceOptions,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
)
from pydantic import SecretStr

from task_assistant.agent.listing import ListedTask
from task_assistant.agent.models import ModelConfigurationError, ModelFactory, _key_from_secret, choose_model
from task_assistant.agent.offline import OfflineModel
from task_assistant.chat.activity import progress_text
from task_assistant.chat.server import title_from_message
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.chat.widgets import copy_text, rows_of, task_list_widget
from task_assistant.settings import Settings
from task_assistant.tasks.models import short_id

ID1, ID2, ID3 = "01JD0000000000000000000001", "01JD0000000000000000000002", "01JD0000000000000000000003"


def test_model_choice_from_settings() -> None:
    offline = choose_model(Settings())
    assert offline.kind == "offline" and "offline model" in offline.describe()
    openai = choose_model(Settings(openai_api_key=SecretStr("sk-abc")))
    assert (openai.kind, openai.base_url, openai.key_source) == ("openai_responses", None, "environment")
    assert "sk-abc" not in openai.describe() and "OpenAI, Responses API" in openai.describe()
    compat = choose_model(
        Settings(
            openai_api_key=SecretStr("k"),
            openai_base_url="https://openrouter.ai/api/v1",
            openai_api="chat_completions",
            openai_model="meta/llama",
        )
    )
    assert compat.kind == "openai_chat_completions" and compat.model_name == "meta/llama"
    assert "https://openrouter.ai/api/v1" in compat.describe()
    assert choose_model(Settings(openai_api_key_secret_id="prod/openai")).key_source == "secrets_manager"
    assert choose_model(Settings(openai_base_url="http://localhost:11434/v1")).key_source == "keyless"
    assert choose_model(Settings(openai_api_key=SecretStr(""))).kind == "offline"


async def test_offline_factory_builds_the_offline_model_once() -> None:
    factory = ModelFactory(Settings())
    model = await factory.get_model()
    assert isinstance(model, OfflineModel) and await factory.get_model() is model


def test_secret_formats() -> None:
    assert _key_from_secret("  sk-plain \n", "s") == "sk-plain"
    assert _key_from_secret('{"OPENAI_API_KEY": "sk-json"}', "s") == "sk-json"
    assert _key_from_secret(b"sk-bytes", "s") == "sk-bytes"
    with pytest.raises(ModelConfigurationError, match="holds no OpenAI API key"):
        _key_from_secret('{"other": "x"}', "s")
    with pytest.raises(ModelConfigurationError, match="does not parse"):
        _key_from_secret("{not json", "s")


def _message(text: str, attachments: list[FileAttachment] | None = None) -> UserMessageItem:
    return UserMessageItem(
        id="msg_1",
        thread_id="thr_1",
        created_at=datetime.now(),
        content=[UserMessageTextContent(text=text)],
        attachments=list(attachments or []),
        inference_options=InferenceOptions(),
    )


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("add buy milk", "Add buy milk"),
        ("  \n  remind me\nto call mom", "Remind me"),
        (
            "please " + "really " * 20 + "add this",
            "Please really really really really really really really\u2026",
        ),
        ("x" * 80, "X" + "x" * 58 + "\u2026"),
    ],
)
def test_title_from_first_message(text: str, title: str) -> None:
    made = title_from_message(_message(text))
    assert made == title and len(made) <= 60


def test_title_for_attachment_only_message() -> None:
    attachment = FileAttachment(id="atc_1", name="receipt.pdf", mime_type="application/pdf")
    assert title_from_message(_message("", [attachment])) == "Attachment: receipt.pdf"
    assert title_from_message(_message("")) == "New chat"


def test_progress_texts() -> None:
    assert progress_text("add_task", {"title": "buy milk"}) == "Adding \u201cbuy milk\u201d\u2026"
    assert progress_text("complete_task", {"task": ID1}) == "Completing the task\u2026"
    assert (
        progress_text("complete_task", {"task": ID1.lower()}, {ID1: "buy milk"})
        == "Completing \u201cbuy milk\u201d\u2026"
    )
    assert (
        progress_text("update_task", {"task": "a", "title": "b"})
        == "Renaming \u201ca\u201d to \u201cb\u201d\u2026"
    )
    assert (
        progress_text("update_task", {"task": "a", "notes": "n"})
        == "Updating the notes of \u201ca\u201d\u2026"
    )
    assert progress_text("list_tasks", {"status": "pending"}) == "Looking up your pending tasks\u2026"
    assert progress_text("delete_task", {"task": "old"}) == "Deleting \u201cold\u201d\u2026"
    assert progress_text("something_else", {}) is None


def test_widget_round_trips_through_storage_json() -> None:
    rows = [ListedTask(ID1, "buy milk", False), ListedTask(ID2, "call mom", True)]
    item = WidgetItem(id="msg_w", thread_id="thr_1", created_at=datetime.now(), widget=task_list_widget(rows))
    stored = WidgetItem.model_validate_json(item.model_dump_json())
    assert rows_of(stored.widget) == rows
    tree = item.widget.model_dump(exclude_none=True)
    first_row = tree["children"][0]["children"][0]["children"]
    action = first_row[-1]["onClickAction"]
    assert (action["type"], action["payload"]) == ("task.complete", {"task_id": ID1})
    assert tree["children"][1]["children"][0]["children"][-1]["type"] == "Badge"
    assert rows_of(task_list_widget([])) == []
    assert copy_text(rows) == "[ ] buy milk\n[x] call mom"


def test_equal_titles_show_their_short_ids() -> None:
    rows = [
        ListedTask(ID1, "buy milk", False),
        ListedTask(ID2, "Buy  milk", True),
        ListedTask(ID3, "x", False),
    ]
    tree = task_list_widget(rows).model_dump(exclude_none=True)
    texts = [[part.get("value") for part in row["children"][0]["children"]] for row in tree["children"]]
    assert short_id(ID1) in texts[0] and short_id(ID2) in texts[1]
    assert not any(str(v).startswith("#") for v in texts[2]), "a unique title needs no short id"
    assert rows_of(task_list_widget(rows)) == rows


def test_attachment_delivery_follows_what_the_provider_can_fetch() -> None:
    def delivery(**values: Any) -> str:
        return build_chatkit_server(Settings(**values)).attachment_delivery

    key = SecretStr("sk-test")
    assert delivery() == "url", "the offline model reads no attachment bytes"
    assert delivery(openai_api_key=key) == "url", "OpenAI fetches presigned S3 URLs"
    assert delivery(openai_api_key=key, openai_api="chat_completions") == "inline"
    assert delivery(openai_api_key=key, s3_endpoint_url="http://127.0.0.1:9") == "inline"

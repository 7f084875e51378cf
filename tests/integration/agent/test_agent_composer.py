"""What the composer and the thread's item actions send: the model picker, dictation and feedback."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from support.agent_chat import ChatClient, message, openai_settings
from support.fake_openai import Fail, FakeOpenAI, Text, Transcript
from task_assistant.agent.transcription import NEEDS_KEY_MESSAGE, DictationError
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.context import RequestContext
from task_assistant.settings import Settings

WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8  # an EBML header and some bytes: what is sent matters


def picked(text: str, model: str | None) -> dict[str, Any]:
    body = message(text)
    body["inference_options"] = {"model": model} if model else {}
    return body


# --- the model picker ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_the_chosen_model_answers_that_turn(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext, api: str
) -> None:
    server = build_chatkit_server(
        openai_settings(settings, fake_api, openai_api=api, openai_model="small", openai_models=["large"])
    )
    alice = ChatClient(server, alice_ctx)
    fake_api.script([Text("From large.")], [Text("From small.")], [Text("Large again.")])
    ev = await alice.send({"type": "threads.create", "params": {"input": picked("hi", "large")}})
    assert not ev.errors, ev.errors
    thread_id = ev.thread_id
    ev = await alice.say(thread_id, "and now?")
    assert not ev.errors
    ev = await alice.send(
        {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": picked("again", "large")},
        }
    )
    assert not ev.errors
    assert [r.body["model"] for r in fake_api.requests] == ["large", "small", "large"]


async def test_a_model_outside_the_list_is_refused_without_a_model_call(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    """The HTTP gate answers 400 first; a caller that bypasses it still gets no turn on that model."""
    server = build_chatkit_server(openai_settings(settings, fake_api, openai_models=["gpt-4.1"]))
    alice = ChatClient(server, alice_ctx)
    ev = await alice.send({"type": "threads.create", "params": {"input": picked("hi", "o3-pro")}})
    [error] = ev.errors
    assert error["allow_retry"] is False
    assert error["message"] == "Model 'o3-pro' is not offered here; choose one of: gpt-4.1-mini, gpt-4.1."
    assert fake_api.requests == []


async def test_the_offline_model_answers_any_choice(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.send({"type": "threads.create", "params": {"input": picked("add buy milk", "gpt-4.1")}})
    assert not ev.errors and "buy milk" in ev.reply


# --- dictation -----------------------------------------------------------------------------------------


def transcribe(audio: bytes, mime_type: str = "audio/webm;codecs=opus") -> dict[str, Any]:
    return {
        "type": "input.transcribe",
        "params": {"audio_base64": base64.b64encode(audio).decode(), "mime_type": mime_type},
    }


async def test_dictation_goes_to_the_providers_audio_api(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api))
    alice = ChatClient(server, alice_ctx)
    fake_api.script(Transcript("  Add buy milk to my list. "))
    assert await alice.request(transcribe(WEBM)) == {"text": "Add buy milk to my list."}
    [sent] = fake_api.requests
    assert sent.path == "/v1/audio/transcriptions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.body == {
        "model": "gpt-4o-mini-transcribe",
        "response_format": "json",
        "filename": "dictation.webm",
        "content_type": "audio/webm",
        "size": len(WEBM),
        "sha256": hashlib.sha256(WEBM).hexdigest(),
    }


async def test_dictation_model_is_configurable_and_safari_audio_works(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api, openai_transcribe_model="whisper-1"))
    fake_api.script(Transcript("hello"))
    result = await ChatClient(server, alice_ctx).request(transcribe(b"\x00\x00\x00\x18ftypmp42", "audio/mp4"))
    assert result == {"text": "hello"}
    assert fake_api.requests[0].body["model"] == "whisper-1"
    assert fake_api.requests[0].body["filename"] == "dictation.mp4"


@pytest.mark.parametrize(
    ("audio", "mime_type", "status", "text"),
    [
        (WEBM, "video/webm", 400, "audio type 'video/webm' cannot be transcribed"),
        (b"", "audio/ogg", 400, "the recording is empty"),
        (b"x" * (1024 + 1), "audio/ogg", 413, "dictation accepts at most 1024 bytes"),
    ],
)
async def test_unusable_recordings_are_refused_before_any_call(
    settings: Settings,
    fake_api: FakeOpenAI,
    alice_ctx: RequestContext,
    audio: bytes,
    mime_type: str,
    status: int,
    text: str,
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api, transcribe_max_bytes=1024))
    with pytest.raises(DictationError) as info:
        await ChatClient(server, alice_ctx).request(transcribe(audio, mime_type))
    assert info.value.status == status and text in info.value.message
    assert fake_api.requests == []


async def test_dictation_without_a_model_key_says_so(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    with pytest.raises(DictationError) as info:
        await ChatClient(offline_server, alice_ctx).request(transcribe(WEBM))
    assert (info.value.status, info.value.code) == (400, "dictation_unavailable")
    assert info.value.message == NEEDS_KEY_MESSAGE and "model key" in NEEDS_KEY_MESSAGE


async def test_dictation_turned_off_says_so(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api, openai_transcribe_model=""))
    with pytest.raises(DictationError) as info:
        await ChatClient(server, alice_ctx).request(transcribe(WEBM))
    assert (info.value.status, info.value.code) == (400, "dictation_unavailable")
    assert "OPENAI_TRANSCRIBE_MODEL is empty" in info.value.message
    assert fake_api.requests == []


@pytest.mark.parametrize(
    ("failure", "status", "text"),
    [
        (
            Fail(400, "Audio file might be corrupted or unsupported", "invalid_request_error"),
            400,
            "could not",
        ),
        (Fail(401, "Incorrect API key provided: sk-test", "invalid_request_error"), 503, "OPENAI_API_KEY"),
        (Fail(404, "model not found", "invalid_request_error"), 503, "OPENAI_TRANSCRIBE_MODEL"),
        (Fail(500), 503, "try again"),
    ],
)
async def test_provider_failures_are_explained(
    settings: Settings,
    fake_api: FakeOpenAI,
    alice_ctx: RequestContext,
    failure: Fail,
    status: int,
    text: str,
) -> None:
    server = build_chatkit_server(openai_settings(settings, fake_api))
    # The client retries 5xx twice; a 4xx is final.
    fake_api.script(*([failure] * (3 if failure.status >= 500 else 1)))
    with pytest.raises(DictationError) as info:
        await ChatClient(server, alice_ctx).request(transcribe(WEBM))
    assert info.value.status == status and text in info.value.message
    assert "sk-test" not in info.value.message


# --- feedback ------------------------------------------------------------------------------------------


async def test_feedback_is_stored_counted_and_logged(
    offline_server: TaskChatKitServer,
    alice_ctx: RequestContext,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("add buy milk")
    answer = next(i["id"] for i in ev.done_items if i["type"] == "assistant_message")
    capsys.readouterr()
    body = {
        "type": "items.feedback",
        "params": {"thread_id": ev.thread_id, "item_ids": [answer], "kind": "negative"},
    }
    assert await alice.request(body) == {}
    assert offline_server.feedback is not None
    [record] = (await offline_server.feedback.load(ev.thread_id, alice_ctx, limit=10)).data
    assert (record.item_id, record.kind, record.user_id) == (answer, "negative", "alice")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [metric] = [line for line in lines if "_aws" in line]  # the EMF line, printed without a metrics context
    [directive] = metric["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == offline_server.settings.powertools_metrics_namespace
    assert directive["Metrics"] == [{"Name": "ItemFeedback", "Unit": "Count"}]
    assert (metric["ItemFeedback"], metric["kind"], metric["service"]) == (
        [1.0],
        "negative",
        "task-assistant",
    )
    [log] = [r for r in caplog.records if r.getMessage() == "Item feedback"]
    assert (log.thread_id, log.item_ids, log.feedback) == (ev.thread_id, [answer], "negative")  # type: ignore[attr-defined]

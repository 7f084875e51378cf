"""Over HTTP: the model picker's allow-list, dictation's refusals, feedback stored and read back, and
the list of request types the gate offers."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from support.web import ChatKitCaller, bearer, chatkit_factory, serve, user_message
from task_assistant.local.token_issuer import LocalIssuer
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services


@pytest.fixture
def caller(chat_url: str, issuer: LocalIssuer, user: str) -> Iterator[ChatKitCaller]:
    chat = ChatKitCaller(chat_url, issuer.mint(user))
    yield chat
    chat.close()


def test_unknown_type_lists_the_supported_types(caller: ChatKitCaller) -> None:
    from task_assistant.web.chatkit_requests import REQUEST_TYPES

    error = caller.post("threads.nope", {}).json()["error"]
    assert "unknown request type 'threads.nope'" in error["message"]
    listed = error["message"].split("expected one of: ", 1)[1].split(", ")
    # Every request type chatkit defines is answered here (dictation, feedback and sync widget actions too).
    assert sorted(listed) == sorted(REQUEST_TYPES)


# --- the model picker ----------------------------------------------------------------------------------


def _message(model: str | None) -> dict[str, object]:
    body = user_message("add buy milk")
    body["inference_options"] = {"model": model}
    return body


def test_a_model_outside_the_list_is_400_before_streaming(
    caller: ChatKitCaller, web_settings: Settings
) -> None:
    response = caller.post("threads.create", {"input": _message("o3-pro")})
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (
        error["message"] == f"model 'o3-pro' is not offered here; choose one of: {web_settings.openai_model}"
    )
    assert error["details"] == [
        {"loc": ["params", "input", "inference_options", "model"], "msg": "not an offered model"}
    ]
    thread, _ = caller.new_thread("hello")
    params = {"thread_id": thread, "input": _message("o3-pro")}
    assert caller.post("threads.add_user_message", params).status_code == 400
    assert [i["type"] for i in caller.items(thread)] == ["user_message", "assistant_message"], "nothing saved"


def test_an_offered_model_is_accepted(caller: ChatKitCaller, web_settings: Settings) -> None:
    """The offline model answers it (it has no other models to offer)."""
    events = caller.stream("threads.create", {"input": _message(web_settings.openai_model)})
    assert not [e for e in events if e["type"] == "error"]


# --- dictation -----------------------------------------------------------------------------------------


def _audio(data: bytes, mime_type: str = "audio/webm;codecs=opus") -> dict[str, str]:
    return {"audio_base64": base64.b64encode(data).decode(), "mime_type": mime_type}


def test_dictation_without_a_model_key_is_a_clear_400(caller: ChatKitCaller) -> None:
    response = caller.post("input.transcribe", _audio(b"\x1a\x45\xdf\xa3 opus"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "dictation_unavailable"
    assert error["message"].startswith("Dictation needs a model key") and "OPENAI_API_KEY" in error["message"]


@pytest.fixture(scope="module")
def small_dictation_url(web_settings: Settings) -> Iterator[str]:
    settings = web_settings.model_copy(update={"transcribe_max_bytes": 2048})
    services = Services(settings, chatkit_factory=chatkit_factory())
    with serve(create_app(settings, door="function_url", services=services)) as url:
        yield url


@pytest.mark.parametrize(
    ("audio", "status", "code", "needle"),
    [
        (_audio(b"x" * 2049, "audio/ogg"), 413, "payload_too_large", "dictation accepts at most 2048 bytes"),
        (_audio(b"x" * 10, "text/plain"), 400, "invalid_request", "audio type 'text/plain' cannot be"),
        (_audio(b"", "audio/mp4"), 400, "invalid_request", "the recording is empty"),
    ],
)
def test_unusable_recordings_are_refused(
    small_dictation_url: str,
    issuer: LocalIssuer,
    user: str,
    audio: dict[str, str],
    status: int,
    code: str,
    needle: str,
) -> None:
    response = httpx.post(
        f"{small_dictation_url}/chatkit",
        json={"type": "input.transcribe", "params": audio},
        headers=bearer(issuer, user),
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and needle in response.json()["error"]["message"]


# --- feedback ------------------------------------------------------------------------------------------


def test_feedback_is_stored_and_read_back_by_its_owner_only(
    chat_url: str, caller: ChatKitCaller, issuer: LocalIssuer, user: str
) -> None:
    thread, events = caller.new_thread("add buy milk")
    [answer] = [
        e["item"]["id"]
        for e in events
        if e["type"] == "thread.item.done" and e["item"]["type"] == "assistant_message"
    ]
    assert (
        caller.call("items.feedback", {"thread_id": thread, "item_ids": [answer], "kind": "positive"}) == {}
    )

    response = caller.client.get("/chatkit/feedback", params={"thread_id": thread})
    assert response.status_code == 200, response.text
    page = response.json()
    [record] = page["data"]
    assert (record["item_id"], record["kind"], record["user_id"]) == (answer, "positive", user)
    assert record["created_at"].endswith("Z") or record["created_at"].endswith("+00:00")
    assert (page["has_more"], page["after"]) == (False, None)

    other = httpx.get(
        f"{chat_url}/chatkit/feedback", params={"thread_id": thread}, headers=bearer(issuer, user + "-b")
    )
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{chat_url}/chatkit/feedback", params={"thread_id": thread}).status_code == 401
    assert caller.client.get("/chatkit/feedback").status_code == 400
    bad_kind = caller.post("items.feedback", {"thread_id": thread, "item_ids": [answer], "kind": "meh"})
    assert bad_kind.status_code == 400

    caller.call("threads.delete", {"thread_id": thread})
    assert caller.client.get("/chatkit/feedback", params={"thread_id": thread}).status_code == 404

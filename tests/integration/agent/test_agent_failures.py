"""Failures: the model or provider fails, a tool fails, the client disconnects, the configuration is wrong."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

import boto3
import pytest
from chatkit.server import StreamingResult
from chatkit.types import AssistantMessageItem, SDKHiddenContextItem

from support.agent_chat import ChatClient, message, openai_settings, parse_sse
from support.fake_openai import Break, Call, Fail, FakeOpenAI, Hold, Text
from support.fault_injection import FaultProxy, writes_an_answer
from task_assistant.chat.server import MODEL_FAILED_MESSAGE, TaskChatKitServer
from task_assistant.chat.service_factory import build_chatkit_server
from task_assistant.context import RequestContext
from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.settings import Settings
from task_assistant.storage.failures import BUSY_MESSAGE


async def _assert_thread_still_usable(alice: ChatClient, fake_api: FakeOpenAI, thread_id: str) -> None:
    fake_api.script([Text("Back to normal.")])
    ev = await alice.say(thread_id, "are you there?")
    assert not ev.errors and ev.reply == "Back to normal."


async def test_provider_error_keeps_message_and_allows_retry(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    # The OpenAI client retries 5xx twice (honouring retry-after-ms): fail all three attempts.
    fake_api.script(Fail(500), Fail(500), Fail(500))
    ev = await alice.create("add buy milk")
    [error] = ev.errors
    assert error == {"type": "error", "code": "custom", "message": MODEL_FAILED_MESSAGE, "allow_retry": True}
    assert "Traceback" not in json.dumps(ev.events)
    thread_id = ev.thread_id
    items = await alice.items(thread_id)
    assert [i.type for i in items] == ["user_message"], "the user's message stays, nothing half-written"
    assert await alice.tasks() == []
    await _assert_thread_still_usable(alice, fake_api, thread_id)
    # The next turn's history still carries the message that failed.
    texts = json.dumps(fake_api.requests[-1].body["input"])
    assert "add buy milk" in texts and "are you there?" in texts


@pytest.mark.parametrize("drop", [False, True], ids=["response-ends-early", "connection-dropped"])
async def test_stream_broken_mid_answer(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext, drop: bool
) -> None:
    """The provider sends part of an answer, then the response ends without completing or the
    connection drops. (The Agents SDK discards events still queued when the run fails, so how much of
    the partial answer reaches the client depends on timing; the outcome does not.)"""
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script(Break("This answer stops half way and never completes.", after_deltas=2, drop=drop))
    ev = await alice.create("tell me something")
    [error] = ev.errors
    assert error == {"type": "error", "code": "custom", "message": MODEL_FAILED_MESSAGE, "allow_retry": True}
    assert ev.types[-1] in ("error", "thread.updated"), "the error ends the stream"
    thread_id = ev.thread_id
    assert [i.type for i in await alice.items(thread_id)] == ["user_message"]
    await _assert_thread_still_usable(alice, fake_api, thread_id)


async def test_tool_failure_goes_back_to_the_model(
    openai_server: TaskChatKitServer,
    fake_api: FakeOpenAI,
    alice_ctx: RequestContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = ChatClient(openai_server, alice_ctx)

    async def broken_add(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail: disk on fire")

    monkeypatch.setattr(openai_server.tasks, "add", broken_add)
    fake_api.script([Call("add_task", {"title": "buy milk"})], [Text("Sorry, adding failed.")])
    ev = await alice.create("add buy milk")
    assert not ev.errors, "a tool error is not a stream error"
    assert ev.reply == "Sorry, adding failed."
    [output] = [i for i in fake_api.requests[1].body["input"] if i.get("type") == "function_call_output"]
    sent = json.dumps(output)
    text = output["output"] if isinstance(output["output"], str) else output["output"][0]["text"]
    assert text.strip() and not text.lstrip().startswith("{"), "an error message, not a task result"
    assert "disk on fire" not in sent, "internal failure details stay in the server log"
    assert await alice.tasks() == []


async def test_task_error_reaches_the_offline_model_as_a_tool_error(
    offline_server: TaskChatKitServer, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(offline_server, alice_ctx)
    ev = await alice.create("mark walk the dog as done")
    assert not ev.errors
    assert ev.reply.startswith("Sorry, I couldn't do that:") and "walk the dog" in ev.reply


async def test_disconnect_mid_answer_keeps_partial_message(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script([Text("Hi!")])
    thread_id = (await alice.create("hello")).thread_id

    hold = Hold("Here is the first part and here is the rest of a long answer.")
    fake_api.script(hold)
    result = await openai_server.process(
        json.dumps(
            {
                "type": "threads.add_user_message",
                "params": {"thread_id": thread_id, "input": message("tell me")},
            }
        ),
        alice_ctx,
    )
    assert isinstance(result, StreamingResult)
    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in result:
            received.append(chunk)

    reader = asyncio.create_task(consume())
    deadline = time.monotonic() + 20
    while not parse_sse(received).deltas:
        assert time.monotonic() < deadline, "no text delta arrived"
        await asyncio.sleep(0.01)
    # The client goes away: the host cancels the task that consumes the stream (as uvicorn does).
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    hold.release()

    partial = parse_sse(received).deltas
    items = await alice.items(thread_id)
    assert [i.type for i in items][-3:] == ["user_message", "assistant_message", "sdk_hidden_context"]
    saved = items[-2]
    assert isinstance(saved, AssistantMessageItem)
    assert saved.content[0].text == "".join(partial) and saved.content[0].text.startswith("Here is")
    assert isinstance(items[-1], SDKHiddenContextItem)
    # The run stopped with the stream: no further model call was made.
    assert len(fake_api.requests) == 2
    await _assert_thread_still_usable(alice, fake_api, thread_id)


async def test_a_failed_write_of_the_answer_ends_the_turn_and_stops_its_run(
    settings: Settings, fake_api: FakeOpenAI, alice_ctx: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.dynamodb_endpoint_url is not None
    with FaultProxy(settings.dynamodb_endpoint_url) as proxy:
        server = build_chatkit_server(
            openai_settings(
                settings.model_copy(update={"aws_max_attempts": 1, "dynamodb_endpoint_url": proxy.url}),
                fake_api,
            )
        )
        alice = ChatClient(server, alice_ctx)
        fake_api.script([Text("Hi!")])
        thread_id = (await alice.create("hello")).thread_id
        before = len(fake_api.requests)

        # ChatKit cannot store the finished message, so it stops reading the turn; the model had also
        # asked for a tool call, after which the run would ask the model again.
        proxy.throttle_when = writes_an_answer
        fake_api.script([Text("Adding it now."), Call("add_task", {"title": "buy milk"})])
        ev = await alice.say(thread_id, "add buy milk")
        [error] = ev.errors
        assert error["code"] == "custom" and error["message"] == BUSY_MESSAGE and error["allow_retry"]
        # The run stopped with the turn: it never went back to the model, and nothing of it was left for
        # the garbage collector to finish (its task would end outside its context, with a traceback).
        await asyncio.sleep(1.0)
        assert len(fake_api.requests) == before + 1
        unraisable: list[Any] = []
        monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
        gc.collect()
        assert not unraisable, [str(u.exc_value) for u in unraisable]
        proxy.heal()
        await _assert_thread_still_usable(alice, fake_api, thread_id)


async def test_rejected_api_key_is_a_configuration_error(
    openai_server: TaskChatKitServer, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script(Fail(401, "Incorrect API key provided: sk-test.", type="invalid_request_error"))
    ev = await alice.create("add buy milk")
    [error] = ev.errors
    assert error["code"] == "custom" and error["allow_retry"] is False
    assert "OPENAI_API_KEY" in error["message"] and "sk-test" not in error["message"]
    assert [i.type for i in await alice.items(ev.thread_id)] == ["user_message"]


def _secrets_client(aws: EmbeddedAWS) -> object:
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws.endpoint_url)


async def test_api_key_from_secrets_manager(
    settings: Settings, embedded_aws: EmbeddedAWS, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    secrets = _secrets_client(embedded_aws)
    name = f"openai-{settings.chat_table_name}"
    # No Secrets Manager stubs are installed (boto3-stubs[dynamodb,s3]), so the client is typed `object`.
    secrets.create_secret(Name=name, SecretString=json.dumps({"OPENAI_API_KEY": "sk-from-secret"}))  # type: ignore[attr-defined]
    configured = openai_settings(settings, fake_api).model_copy(
        update={"openai_api_key": None, "openai_api_key_secret_id": name}
    )
    server = build_chatkit_server(configured, secrets_client=secrets)
    assert server.models.choice.key_source == "secrets_manager"
    fake_api.script([Text("Hello from the real path.")])
    ev = await ChatClient(server, alice_ctx).create("hi")
    assert not ev.errors and ev.reply == "Hello from the real path."
    assert fake_api.requests[0].headers["authorization"] == "Bearer sk-from-secret"


async def test_unreadable_secret_is_a_clear_configuration_error(
    settings: Settings, embedded_aws: EmbeddedAWS, fake_api: FakeOpenAI, alice_ctx: RequestContext
) -> None:
    configured = openai_settings(settings, fake_api).model_copy(
        update={"openai_api_key": None, "openai_api_key_secret_id": "does-not-exist"}
    )
    server = build_chatkit_server(configured, secrets_client=_secrets_client(embedded_aws))
    alice = ChatClient(server, alice_ctx)
    ev = await alice.create("add buy milk")
    [error] = ev.errors
    assert error["code"] == "custom" and error["allow_retry"] is False
    assert "OPENAI_API_KEY_SECRET_ID" in error["message"]
    assert "does-not-exist" not in error["message"], "resource names stay in the logs"
    assert "Traceback" not in error["message"]
    assert [i.type for i in await alice.items(ev.thread_id)] == ["user_message"]
    assert fake_api.requests == [], "no model call without a key"


@pytest.mark.parametrize(
    ("fail", "attempts", "says", "retry"),
    [
        (Fail(429, "Rate limit reached", type="rate_limit_error"), 3, "rate limit", True),
        (Fail(404, "The model does not exist", type="invalid_request_error"), 1, "OPENAI_MODEL", False),
        (Fail(400, "Invalid request", type="invalid_request_error"), 1, "model service failed", True),
    ],
    ids=["rate-limited", "unknown-model", "bad-request"],
)
async def test_provider_errors_are_explained(
    openai_server: TaskChatKitServer,
    fake_api: FakeOpenAI,
    alice_ctx: RequestContext,
    fail: Fail,
    attempts: int,
    says: str,
    retry: bool,
) -> None:
    alice = ChatClient(openai_server, alice_ctx)
    fake_api.script(*[fail] * attempts)  # the client retries 429s (not 4xx otherwise)
    ev = await alice.create("add buy milk")
    [error] = ev.errors
    assert error["code"] == "custom" and says in error["message"] and error["allow_retry"] is retry
    assert [i.type for i in await alice.items(ev.thread_id)] == ["user_message"]

"""Pure parts of the HTTP layer: ChatKit request parsing and limit capping, If-Match parsing."""

from __future__ import annotations

import json

import pytest

from task_assistant.web.chatkit_gate import parse_request
from task_assistant.web.chatkit_requests import REQUEST_TYPES, STREAMING_TYPES
from task_assistant.web.errors import BadRequest
from task_assistant.web.tasks_api import _expected, _parse_if_match


def test_request_types_match_chatkit() -> None:
    from typing import get_args

    from chatkit.types import NonStreamingReq, StreamingReq

    def names(union: object) -> set[str]:
        return {cls.model_fields["type"].default for cls in get_args(union)}

    assert names(StreamingReq) == STREAMING_TYPES
    assert names(StreamingReq) | names(NonStreamingReq) == REQUEST_TYPES


def test_limit_above_cap_is_rewritten() -> None:
    body = json.dumps({"type": "threads.list", "params": {"limit": 10_000, "order": "asc"}}).encode()
    gated = parse_request(body, page_size_cap=50)
    assert json.loads(gated.body)["params"] == {"limit": 50, "order": "asc"}
    assert gated.parsed.params.limit == 50 and not gated.streaming


def test_limit_within_cap_keeps_the_body_untouched() -> None:
    body = b'{"type":"items.list","params":{"thread_id":"thr_1","limit":5}}'
    assert parse_request(body, page_size_cap=50).body == body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"nope", "not valid JSON"),
        (b"null", "JSON object"),
        (b'{"params": {}}', "'type' is required"),
        (b'{"type": "x.y"}', "unknown request type 'x.y'"),
        (b'{"type": "threads.list", "params": {"limit": -1}}', "at least 1"),
        (b'{"type": "threads.delete", "params": {}}', "params.thread_id: Field required"),
        (b'{"type": "input.transcribe", "params": {"audio_base64": "0", "mime_type": "a/b"}}', "base64"),
    ],
)
def test_bad_requests_name_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_request(body, page_size_cap=10)
    assert message in info.value.message
    assert info.value.status == 400


def test_deeply_nested_body_is_a_400_not_a_500() -> None:
    """2 KB nested a thousand levels deep: json.loads' RecursionError becomes a clear 400."""
    for body in (b"[" * 100_000, b'{"type": "threads.list", "params": ' + b'{"a": ' * 50_000 + b"1}"):
        with pytest.raises(BadRequest, match="nested too deeply"):
            parse_request(body, page_size_cap=100)


def test_streaming_flag() -> None:
    body = json.dumps(
        {
            "type": "threads.create",
            "params": {
                "input": {"content": [], "attachments": [], "quoted_text": "", "inference_options": {}}
            },
        }
    ).encode()
    assert parse_request(body, page_size_cap=10).streaming


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("*", None), ('"3"', 3), ("3", 3), ('W/"7"', 7)],
)
def test_if_match(header: str | None, expected: int | None) -> None:
    assert _parse_if_match(header) == expected


@pytest.mark.parametrize("header", ['"abc"', '"0"', '"-1"', "1" * 20])
def test_bad_if_match(header: str) -> None:
    with pytest.raises(BadRequest):
        _parse_if_match(header)


def test_if_match_and_body_version_must_agree() -> None:
    assert _expected('"2"', 2) == 2
    assert _expected(None, 4) == 4
    with pytest.raises(BadRequest, match="disagree"):
        _expected('"2"', 3)


def test_request_id_comes_from_the_lambda_context_when_there_is_one() -> None:
    from types import SimpleNamespace

    from task_assistant.web.middleware import _lambda_request_id

    lwa = {"headers": [(b"x-amzn-lambda-context", b'{"request_id": "abc-123", "deadline": 1}')]}
    assert _lambda_request_id(lwa) == "abc-123"
    mangum = {"aws.context": SimpleNamespace(aws_request_id="req-9"), "headers": []}
    assert _lambda_request_id(mangum) == "req-9"
    event_only = {"aws.event": {"requestContext": {"requestId": "apigw-1"}}, "headers": []}
    assert _lambda_request_id(event_only) == "apigw-1"
    assert _lambda_request_id({"headers": [(b"x-amzn-lambda-context", b"not json")]}) is None
    assert _lambda_request_id({"headers": []}) is None

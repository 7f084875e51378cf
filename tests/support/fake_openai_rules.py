"""What the real APIs refuse with a 400, checked by the fake OpenAI server on every request it records.

Only the rules a conversation's history can break are here, each as OpenAI's servers state them:

- Responses ``input``: an assistant message's parts are ``output_text`` or ``refusal`` (the API answers
  "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'."), a user, system or
  developer message's parts are ``input_text``, ``input_image`` or ``input_file``; a
  ``function_call_output`` answers an earlier ``function_call`` ("No tool call found for function call
  output with call_id ...").
- Chat Completions ``messages``: roles ``system``, ``developer``, ``user``, ``assistant``, ``tool``; an
  assistant message has content or tool calls, its content parts are ``text`` or ``refusal``; a user
  message's parts are ``text``, ``image_url``, ``input_audio`` or ``file``; every tool call is answered
  by a ``tool`` message before the next non-tool message ("An assistant message with 'tool_calls' must
  be followed by tool messages responding to each 'tool_call_id'"), and a ``tool`` message answers one.
"""

from __future__ import annotations

from typing import Any

_RESPONSES_PARTS = {
    "assistant": {"output_text", "refusal"},
    "user": {"input_text", "input_image", "input_file"},
    "system": {"input_text"},
    "developer": {"input_text"},
}
_CHAT_PARTS = {
    "assistant": {"text", "refusal"},
    "user": {"text", "image_url", "input_audio", "file"},
    "system": {"text"},
    "developer": {"text"},
}


def _content_problem(where: str, content: Any, allowed: set[str]) -> str | None:
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"{where}.content must be a string or a list of parts"
    for n, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            supported = " and ".join(repr(k) for k in sorted(allowed))
            return f"Invalid value: {kind!r} at {where}.content[{n}]. Supported values are: {supported}."
    return None


def responses_input_problem(body: dict[str, Any]) -> str | None:
    """Why the Responses API would refuse ``body['input']``, or None."""
    items = body.get("input")
    if isinstance(items, str):
        return None
    if not isinstance(items, list):
        return "input must be a string or a list"
    calls: set[str] = set()
    for n, item in enumerate(items):
        where = f"input[{n}]"
        kind = item.get("type", "message")
        if kind == "function_call":
            calls.add(item["call_id"])
        elif kind == "function_call_output":
            if item.get("call_id") not in calls:
                return f"No tool call found for function call output with call_id {item.get('call_id')}."
        elif kind == "message":
            role = item.get("role")
            if role not in _RESPONSES_PARTS:
                return f"Invalid value: {role!r} at {where}.role."
            problem = _content_problem(where, item.get("content"), _RESPONSES_PARTS[role])
            if problem:
                return problem
    return None


def _assistant_problem(where: str, message: dict[str, Any], pending: set[str]) -> str | None:
    if pending:
        return "An assistant message with 'tool_calls' must be followed by tool messages " + (
            f"responding to each 'tool_call_id'. The following tool_call_ids did not have response "
            f"messages: {', '.join(sorted(pending))}"
        )
    calls = message.get("tool_calls") or []
    if message.get("content") in (None, "", []) and not calls:
        return f"{where}: an assistant message needs content or tool_calls."
    if message.get("content") is not None:
        problem = _content_problem(where, message["content"], _CHAT_PARTS["assistant"])
        if problem:
            return problem
    pending.update(call["id"] for call in calls)
    return None


def chat_messages_problem(body: dict[str, Any]) -> str | None:
    """Why the Chat Completions API would refuse ``body['messages']``, or None."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    pending: set[str] = set()
    for n, message in enumerate(messages):
        where, role = f"messages[{n}]", message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'."
                )
            pending.discard(message["tool_call_id"])
            continue
        if role == "assistant":
            problem = _assistant_problem(where, message, pending)
        elif role in _CHAT_PARTS:
            problem = (
                _assistant_problem(where, {"content": "-"}, pending)
                if pending
                else _content_problem(where, message.get("content"), _CHAT_PARTS[role])
            )
        else:
            problem = f"Invalid value: {role!r} at {where}.role."
        if problem:
            return problem
    if pending:
        return _assistant_problem("end of messages", {}, pending)
    return None

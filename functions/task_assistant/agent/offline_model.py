"""The offline model: a deterministic, network-free stand-in for an LLM behind the same agent and tools.

It implements the Agents SDK :class:`~agents.models.interface.Model` interface, so the Runner, the MCP
task tools, ChatKit's streaming bridge and the stores all run exactly as they do with OpenAI; only the
"thinking" is a small rule-based parser. It is what runs when no API key is configured, and it makes
the whole assistant usable (and testable) on a laptop with no account.

One call of the model looks at the conversation it is given and either

- calls a task tool (a ``function_call`` output item, arguments shaped by the tool's JSON schema), or
- after the tool results of this turn are in, streams a short reply in several text deltas.

What it understands (case-insensitive, everyday phrasings):

=============  ==========================================================================
add            "add buy milk", "remind me to call mom", "I need to water the plants",
               "add buy milk with note: 2 litres", "new task: pay rent"
list           "what's on my list", "show my tasks", "list completed tasks", "what's left"
complete       "mark buy milk as done", "I finished call mom", "complete the first one",
               "buy milk is done", "check off #2"
reopen         "reopen buy milk", "mark buy milk as not done", "uncheck the second one"
rename         "rename buy milk to buy oat milk", "change the 2nd one to call dad"
notes          "add a note to buy milk: semi-skimmed", "note for pay rent: before the 5th"
delete         "delete the second one", "remove call mom", "get rid of the last one"
=============  ==========================================================================

A task is named by its title, by a task id, or by its position ("the second one", "#2", "the last
one") in the most recent list shown in the conversation: the last ``list_tasks`` result of this turn,
or else the last task-list widget in the history (rendered by :mod:`task_assistant.agent.listing`). If
no list is known yet, it lists the tasks first and then acts. Attachments are acknowledged by name;
greetings and anything it does not understand get a short help text.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import FunctionTool, Tool
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails, ResponseUsage

from task_assistant.agent.listing import ATTACHMENT_NOTE_PREFIX, ListedTask, parse_task_list

OFFLINE_MODEL_NAME = "offline"
"""The model name reported in responses and in the startup log ("offline model")."""

HELP_TEXT = (
    "I'm the offline assistant: I run without an AI model and understand simple requests about your "
    "tasks. Try: \u201cadd buy milk\u201d, \u201cremind me to call mom\u201d, \u201cwhat's on my list\u201d, "
    "\u201cmark buy milk as done\u201d, \u201crename buy milk to buy oat milk\u201d, "
    "\u201cadd a note to buy milk: semi-skimmed\u201d, \u201creopen buy milk\u201d or "
    "\u201cdelete the second one\u201d."
)

# Messages the ChatKit converter adds as role "user" that the user did not type.
_CONTEXT_PREFIXES = (
    "Task list shown to the user",
    "The following graphical UI widget",
    "Hidden context for the agent",
    "The user is referring to this in particular",
    "# User-provided context",
    "A message was displayed to the user",
    "A structured input request",
)
_ATTACHMENT_NOTE = re.compile(r"^Attached file: (.+) \(([^()]*)\)", re.MULTILINE)
_TASK_ID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$", re.IGNORECASE)

IntentKind = Literal["help", "add", "list", "complete", "reopen", "rename", "notes", "delete"]


@dataclass(frozen=True)
class Intent:
    """What the user asked for. ``ref`` names an existing task (title, id or ordinal phrase)."""

    kind: IntentKind
    title: str | None = None
    ref: str | None = None
    notes: str | None = None
    status: Literal["all", "pending", "completed"] = "all"


# --------------------------------------------------------------------------------------------------
# Understanding one message


_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "last": -1, "final": -1,
}  # fmt: skip
_ORDINAL_REF = re.compile(
    r"^(?:the\s+)?(?:(?P<word>" + "|".join(_ORDINALS) + r"|\d+(?:st|nd|rd|th))"
    r"(?:\s+(?:one|task|item|thing))?(?:\s+on\s+(?:the|my)\s+list)?"
    r"|(?:number|no\.?|#|task|item)\s*(?P<num>\d+)|(?P<bare>\d{1,3}))$",
    re.IGNORECASE,
)
_LIST_WORDS = r"(?:list|tasks?|to-?dos?|to-?do list|task list|things to do)"
_TRAILING_LIST = re.compile(r"\s+(?:from|off|on|to|in)\s+(?:my|the)\s+" + _LIST_WORDS + r"$", re.IGNORECASE)


def _clean_text(text: str) -> str:
    text = " ".join(text.replace("\u2019", "'").split())
    return text.strip().rstrip(".!?").strip()


def _clean_title(text: str) -> str:
    text = _TRAILING_LIST.sub("", text.strip())
    text = text.strip().strip("\"'\u201c\u201d\u2018\u2019`").strip()
    return text


def _clean_ref(text: str) -> str:
    text = _clean_title(text)
    text = re.sub(r"^(?:the|my)\s+(?:task\s+)?", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^task\s+(?=\S)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+task$", "", text, flags=re.IGNORECASE) if not _ORDINAL_REF.match(text) else text
    return _clean_title(text)


def ordinal_of(ref: str) -> int | None:
    """1-based position for "the second one", "#2", "number 2"...; -1 for "the last one"; else None."""
    match = _ORDINAL_REF.match(ref.strip())
    if not match:
        return None
    if match["num"] or match["bare"]:
        return int(match["num"] or match["bare"])
    word = match["word"].lower()
    if word in _ORDINALS:
        return _ORDINALS[word]
    return int(re.sub(r"\D", "", word))


def _split_notes(text: str) -> tuple[str, str | None]:
    """``"buy milk with note: 2 litres"`` -> ("buy milk", "2 litres")."""
    match = re.match(
        r"^(?P<title>.+?)\s*(?:,?\s+with\s+(?:a\s+|the\s+)?notes?|\(\s*notes?)\s*[:\-\u2013]?\s*(?P<notes>.+?)\)?$",
        text,
        re.IGNORECASE,
    )
    if match:
        return match["title"], match["notes"]
    return text, None


_PATTERNS: list[tuple[IntentKind, re.Pattern[str]]] = [
    (cast(IntentKind, kind), re.compile(pattern, re.IGNORECASE))
    for kind, pattern in [
        # The first match wins, so specific phrasings come first: reopen's "mark X as not done" before
        # complete's "mark X as done", "I need to do X" (add) after the list questions, and the bare
        # "... tasks" list pattern last.
        (
            "rename",
            r"^(?:rename|retitle|change|update)\s+(?:the\s+title\s+of\s+)?(?P<ref>.+?)\s+(?:to|into|as)\s+(?P<title>.+)$",
        ),
        (
            "notes",
            r"^(?:add|put|attach|set)\s+(?:a\s+|the\s+)?notes?\s+(?:to|on|for)\s+(?P<ref>.+?)\s*[:\u2013\-]\s*(?P<notes>.+)$",
        ),
        ("notes", r"^notes?\s+(?:for|on|to)\s+(?P<ref>.+?)\s*:\s*(?P<notes>.+)$"),
        (
            "reopen",
            r"^(?:reopen|re-open|uncheck|untick|unmark|undo|restore)\s+(?P<ref>.+?)(?:\s+as\s+(?:not\s+done|pending|open))?$",
        ),
        (
            "reopen",
            r"^(?:mark|set|put)\s+(?P<ref>.+?)\s+(?:as\s+|back\s+to\s+)?(?:not\s+(?:yet\s+)?(?:done|complete|completed|finished)|undone|pending|incomplete|open|to\s?do)$",
        ),
        ("reopen", r"^(?P<ref>.+?)\s+is\s+(?:not|n't)\s+(?:done|finished|complete|completed)(?:\s+yet)?$"),
        (
            "complete",
            r"^(?:mark|set|put)\s+(?P<ref>.+?)\s+(?:as\s+)?(?:done|complete|completed|finished|checked)$",
        ),
        ("complete", r"^(?:complete|finish|check\s+off|tick\s+off|cross\s+off)\s+(?P<ref>.+)$"),
        ("complete", r"^(?:i(?:'ve|\s+have)?\s+(?:just\s+)?(?:finished|completed|done|did))\s+(?P<ref>.+)$"),
        ("complete", r"^(?:done\s+with|finished\s+with)\s+(?P<ref>.+)$"),
        ("complete", r"^(?P<ref>.+?)\s+is\s+(?:done|finished|complete|completed)$"),
        (
            "delete",
            r"^(?:please\s+)?(?:delete|remove|drop|erase|trash|scrap|get\s+rid\s+of|forget(?:\s+about)?)\s+(?P<ref>.+)$",
        ),
        (
            "list",
            r"^(?:what(?:'s|\s+is|\s+are)|whats)\s+(?:on\s+)?(?:my|the)\s+(?P<rest>.*?)(?:list|tasks?|to-?dos?|plate|agenda)\b.*$",
        ),
        (
            "list",
            r"^(?:please\s+)?(?:show|list|display|see|view|get|give)(?:\s+me)?(?:\s+(?:all|all\s+of|everything\s+on))?(?:\s+(?:my|the))?\s*(?P<rest>.*?)(?:list|tasks?|to-?dos?|items)\b.*$",
        ),
        (
            "list",
            r"^(?:what\s+do\s+i\s+(?:have|need)\s+to\s+do|what(?:'s|\s+is)\s+(?P<rest>left|remaining|pending|done|completed)).*$",
        ),
        (
            "add",
            r"^(?:please\s+)?(?:remind\s+me\s+to|i\s+(?:need|have|must|should|want)\s+to|don'?t\s+(?:let\s+me\s+)?forget\s+to)\s+(?P<title>.+)$",
        ),
        (
            "add",
            r"^(?:please\s+)?(?:add|create|new)\s+(?:a\s+)?(?:new\s+)?(?:task|to-?do|item|reminder)?\s*(?:(?:to|for|called|named)\s+)?:?\s*(?P<title>.+?)$",
        ),
        ("add", r"^(?:task|to-?do)\s*:\s*(?P<title>.+)$"),
        ("list", r"^(?:my\s+)?(?P<rest>.*?)(?:tasks|to-?dos|list)\??$"),
    ]
]
_GREETING = re.compile(
    r"^(?:hi|hello|hey|yo|hiya|good\s+(?:morning|afternoon|evening)|help|\?)\b", re.IGNORECASE
)


def _status_from(words: str) -> Literal["all", "pending", "completed"]:
    lowered = words.lower()
    if re.search(
        r"\b(?:pending|open|remaining|left|outstanding|incomplete|not\s+done|unfinished)\b", lowered
    ):
        return "pending"
    if re.search(r"\b(?:completed|done|finished|closed)\b", lowered):
        return "completed"
    return "all"


def parse_intent(text: str) -> Intent:
    """Understand one user message (see the module docstring for the phrasings)."""
    cleaned = _clean_text(text)
    if not cleaned:
        return Intent("help")
    # Polite prefixes do not change the meaning.
    cleaned = re.sub(r"^(?:ok(?:ay)?|please|could you|can you|would you|hey)[,\s]+", "", cleaned, flags=re.I)
    cleaned = re.sub(r"^(?:please)[,\s]+", "", cleaned, flags=re.I)
    for kind, pattern in _PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        groups = match.groupdict()
        if kind == "list":
            return Intent("list", status=_status_from(groups.get("rest") or ""))
        if kind == "add":
            title, notes = _split_notes(groups["title"])
            title = _clean_title(title)
            if not title or _GREETING.match(cleaned):
                continue
            return Intent("add", title=title, notes=_clean_title(notes) if notes else None)
        ref = _clean_ref(groups["ref"])
        if not ref:
            continue
        if kind == "rename":
            return Intent("rename", ref=ref, title=_clean_title(groups["title"]))
        if kind == "notes":
            return Intent("notes", ref=ref, notes=groups["notes"].strip())
        return Intent(kind, ref=ref)
    return Intent("help")


# --------------------------------------------------------------------------------------------------
# Reading the conversation


@dataclass
class _ToolExchange:
    name: str
    arguments: dict[str, Any]
    output: str | None = None


@dataclass
class _Conversation:
    """The parts of the model input the offline model cares about."""

    user_text: str = ""
    attachments: list[str] = field(default_factory=list)
    exchanges: list[_ToolExchange] = field(default_factory=list)
    """Tool calls made since the user's message (this turn), in order, with their outputs."""
    latest_list: list[ListedTask] | None = None
    """The most recent task list shown or returned, for ordinal references."""
    answered: bool = False
    """An assistant message already followed the user's message (e.g. a client tool result came back)."""


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        return cast(dict[str, Any], dump(exclude_none=True))
    return {}


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    if isinstance(content, list):
        for part in content:
            part_dict = _as_dict(part)
            if part_dict.get("type") in {"input_text", "output_text", "text"} and isinstance(
                part_dict.get("text"), str
            ):
                out.append(part_dict["text"])
    return out


def _attachment_names(content: Any) -> list[str]:
    names: list[str] = []
    for text in _texts(content):
        names += [m[1] for m in _ATTACHMENT_NOTE.finditer(text)]
    if isinstance(content, list):
        for part in content:
            part_dict = _as_dict(part)
            if part_dict.get("type") == "input_file" and part_dict.get("filename"):
                name = str(part_dict["filename"])
                if name not in names:
                    names.append(name)
            elif part_dict.get("type") == "input_image" and not names:
                names.append("an image")
    return names


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, Mapping):
        return str(output.get("text", json.dumps(output)))
    if isinstance(output, list):
        return "".join(_output_text(_as_dict(part)) for part in output)
    return str(output)


def _json_or_none(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _tasks_in(value: Any) -> list[Mapping[str, Any]] | None:
    """The task dicts of a list_tasks result (``{"tasks": [...]}`` or a bare list)."""
    if isinstance(value, Mapping):
        for key in ("tasks", "items", "data", "result"):
            if isinstance(value.get(key), list):
                return [t for t in value[key] if isinstance(t, Mapping) and "id" in t]
        return None
    if isinstance(value, list):
        return [t for t in value if isinstance(t, Mapping) and "id" in t]
    return None


def _listed(tasks: Iterable[Mapping[str, Any]]) -> list[ListedTask]:
    return [
        ListedTask(
            id=str(t["id"]),
            title=str(t.get("title", "")),
            completed=bool(t.get("completed", t.get("status") == "completed")),
        )
        for t in tasks
    ]


def read_conversation(items: str | list[TResponseInputItem]) -> _Conversation:
    """Find the user's latest message, this turn's tool calls and the latest list shown."""
    if isinstance(items, str):
        return _Conversation(user_text=items)
    conv = _Conversation()
    calls: dict[str, _ToolExchange] = {}
    for raw in items:
        item = _as_dict(raw)
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") == "user":
            texts = _texts(item.get("content"))
            joined = "\n".join(texts)
            shown = parse_task_list(joined)
            if shown is not None:
                conv.latest_list = shown
            if texts and any(joined.startswith(prefix) for prefix in _CONTEXT_PREFIXES):
                continue
            # A new user message starts a new turn.
            typed = [t for t in texts if not t.startswith(ATTACHMENT_NOTE_PREFIX)]
            conv.user_text = "\n".join(typed)
            conv.attachments = _attachment_names(item.get("content"))
            conv.exchanges = []
            conv.answered = False
            calls = {}
        elif kind == "message" and item.get("role") == "assistant":
            conv.answered = True
        elif kind == "function_call":
            try:
                arguments = json.loads(item.get("arguments") or "{}")
            except ValueError:
                arguments = {}
            exchange = _ToolExchange(name=str(item.get("name")), arguments=arguments)
            calls[str(item.get("call_id"))] = exchange
            conv.exchanges.append(exchange)
        elif kind == "function_call_output":
            exchange = calls.get(str(item.get("call_id")))  # type: ignore[assignment]
            if exchange is None:
                continue
            exchange.output = _output_text(item.get("output"))
            if exchange.name == "list_tasks":
                tasks = _tasks_in(_json_or_none(exchange.output))
                if tasks is not None:
                    conv.latest_list = _listed(tasks)
    return conv


# --------------------------------------------------------------------------------------------------
# Deciding what to do


@dataclass(frozen=True)
class _Call:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class _Reply:
    text: str


_TOOL_FOR: dict[IntentKind, str] = {
    "add": "add_task",
    "list": "list_tasks",
    "complete": "complete_task",
    "reopen": "reopen_task",
    "rename": "update_task",
    "notes": "update_task",
    "delete": "delete_task",
}
_REF_KEYS = ("task", "task_ref", "ref", "task_id_or_title", "id_or_title", "task_id", "id")


def _schema_props(tool: Tool | None) -> dict[str, Any]:
    if isinstance(tool, FunctionTool):
        return dict(tool.params_json_schema.get("properties", {}))
    return {}


def _call_arguments(intent: Intent, ref: str | None, tool: Tool | None) -> dict[str, Any]:
    """Arguments for the intent's tool, named after the tool's own JSON schema."""
    props = _schema_props(tool)
    args: dict[str, Any] = {}
    if ref is not None:
        key = next((k for k in _REF_KEYS if k in props), "task")
        args[key] = ref
    if intent.kind == "add":
        args["title"] = intent.title
        if intent.notes:
            args["notes"] = intent.notes
    elif intent.kind == "rename":
        args["new_title" if "new_title" in props else "title"] = intent.title
    elif intent.kind == "notes":
        args["notes"] = intent.notes
    elif intent.kind == "list":
        if "status" in props:
            args["status"] = intent.status
        if "limit" in props:
            args["limit"] = int(props["limit"].get("maximum", 50)) if isinstance(props["limit"], dict) else 50
    # Drop optional nulls the schema may not accept.
    return {k: v for k, v in args.items() if v is not None}


def decide(conv: _Conversation, tools: list[Tool]) -> _Call | _Reply:
    """The next step: a tool call for the user's request, or the reply once this turn's tools ran."""
    if conv.answered:
        # The request was answered in an earlier run; this run only continues after a client tool.
        names = sorted({e.name for e in conv.exchanges if e.name not in _TOOL_FOR.values()})
        if names:
            return _Reply(f"Thanks, I got the result of {', '.join(names)}.")
        return _Reply("Is there anything else I can do for your list?")
    intent = parse_intent(conv.user_text)
    if intent.kind == "help":
        return _Reply(_with_attachments(conv, HELP_TEXT if not conv.attachments else ""))
    tool_name = _TOOL_FOR[intent.kind]
    by_name = {t.name: t for t in tools}
    if tool_name not in by_name:
        return _Reply(f"I can't do that here: the {tool_name} tool is not available.")
    called = [e.name for e in conv.exchanges]

    ref: str | None = None
    if intent.ref is not None:
        position = ordinal_of(intent.ref)
        if position is None:
            ref = intent.ref.upper() if _TASK_ID.match(intent.ref) else intent.ref
        elif conv.latest_list is None:
            # "the second one" with no list in sight: look at the list first, then act.
            if "list_tasks" not in called and "list_tasks" in by_name:
                return _Call("list_tasks", _call_arguments(Intent("list"), None, by_name["list_tasks"]))
            return _Reply(
                "Which task do you mean? Ask me to show your tasks first, then refer to one by number."
            )
        else:
            rows = conv.latest_list
            index = len(rows) - 1 if position == -1 else position - 1
            if not 0 <= index < len(rows):
                return _Reply(
                    f"The last list I showed has {len(rows)} task{'s' if len(rows) != 1 else ''}, "
                    f"so there is no task number {position}."
                )
            ref = rows[index].id

    if tool_name not in called:
        return _Call(tool_name, _call_arguments(intent, ref, by_name[tool_name]))
    return _Reply(_with_attachments(conv, _summarise(intent, conv)))


def _with_attachments(conv: _Conversation, text: str) -> str:
    if not conv.attachments:
        return text
    names = ", ".join(conv.attachments)
    ack = f"I see you attached {names}. I can't read attachments offline, but they are saved with the chat."
    return f"{ack} {text}".strip()


def _task_of(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Mapping):
        for key in ("task", "deleted"):
            if isinstance(value.get(key), Mapping):
                return dict(value[key])
        if "title" in value:
            return dict(value)
    return None


def _error_of(exchange: _ToolExchange) -> str | None:
    """The error text of a failed tool call, or None when it succeeded."""
    text = exchange.output or ""
    value = _json_or_none(text)
    if isinstance(value, Mapping):
        error = value.get("error")
        if isinstance(error, Mapping):
            return str(error.get("message", error))
        if isinstance(error, str):
            return error
        if value.get("isError") or value.get("is_error"):
            return str(value.get("message", text))
        return None
    if value is not None:
        return None
    # Plain text: MCP tool errors and the SDK's failure message arrive as text, successes as JSON.
    return text or "the tool returned nothing"


def _summarise(intent: Intent, conv: _Conversation) -> str:
    exchange = next((e for e in reversed(conv.exchanges) if e.name == _TOOL_FOR[intent.kind]), None)
    if exchange is None:  # pragma: no cover - decide() only summarises after the call
        return "Done."
    error = _error_of(exchange)
    if error is not None:
        return f"Sorry, I couldn't do that: {error.strip()}"
    value = _json_or_none(exchange.output)
    task = _task_of(value) or {}
    title = str(task.get("title") or intent.title or intent.ref or "the task")
    quoted = f"\u201c{title}\u201d"
    match intent.kind:
        case "add":
            return f"Added {quoted} to your list."
        case "complete":
            return f"Marked {quoted} as done. Nice work!"
        case "reopen":
            return f"Reopened {quoted}; it's back on your list."
        case "rename":
            return f"Renamed it to {quoted}."
        case "notes":
            return f"Saved the note on {quoted}."
        case "delete":
            return f"Deleted {quoted}." if task else "Deleted the task."
        case "list":
            tasks = _tasks_in(value) or []
            which = {"all": "", "pending": "pending ", "completed": "completed "}[intent.status]
            if not tasks:
                return (
                    f"You have no {which}tasks."
                    if which
                    else "Your list is empty. Add one with \u201cadd ...\u201d."
                )
            lines = [
                f"{n}. {t.get('title')}{' (done)' if t.get('completed') else ''}"
                for n, t in enumerate(tasks, start=1)
            ]
            noun = "task" if len(tasks) == 1 else "tasks"
            return f"You have {len(tasks)} {which}{noun}:\n" + "\n".join(lines)
    return "Done."  # pragma: no cover


# --------------------------------------------------------------------------------------------------
# The Model


def _chunks(text: str, pieces: int = 4) -> list[str]:
    """Split ``text`` into a few deltas at word boundaries (joined, they give back ``text``)."""
    words = re.findall(r"\S+\s*|\s+", text)
    if len(words) <= 1:
        return [text]
    size = max(1, -(-len(words) // pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def _new_id(prefix: str) -> str:
    # Assistant message ids become thread item ids, so they must be unique across the thread.
    return f"{prefix}_{uuid.uuid4().hex}"


class OfflineModel(Model):
    """A deterministic, network-free :class:`~agents.models.interface.Model` (see the module docs)."""

    name = OFFLINE_MODEL_NAME

    def _plan(self, input: str | list[TResponseInputItem], tools: list[Tool]) -> TResponseOutputItem:
        step = decide(read_conversation(input), tools)
        if isinstance(step, _Call):
            return ResponseFunctionToolCall(
                type="function_call",
                id=_new_id("fc"),
                call_id=_new_id("call"),
                name=step.name,
                arguments=json.dumps(step.arguments, ensure_ascii=False),
                status="completed",
            )
        return ResponseOutputMessage(
            type="message",
            id=_new_id("msg"),
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=step.text, annotations=[])],
        )

    @staticmethod
    def _response(output: list[TResponseOutputItem], status: Literal["completed", "in_progress"]) -> Response:
        return Response(
            id=_new_id("resp"),
            created_at=time.time(),
            model=OFFLINE_MODEL_NAME,
            object="response",
            output=output,
            tool_choice="auto",
            tools=[],
            parallel_tool_calls=False,
            status=status,
            usage=ResponseUsage(
                input_tokens=0,
                output_tokens=0,
                total_tokens=0,
                input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
                output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
            )
            if status == "completed"
            else None,
        )

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        item = self._plan(input, tools)
        return ModelResponse(output=[item], usage=Usage(requests=1), response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        item = self._plan(input, tools)
        for event in stream_events_for(item, self._response):
            yield event


def stream_events_for(item: TResponseOutputItem, response: Any) -> list[TResponseStreamEvent]:
    """The Responses API event sequence that streams one output item, as OpenAI sends it."""
    events: list[Any] = []
    seq = iter(range(1_000_000))
    started = response([], "in_progress")
    events.append(ResponseCreatedEvent(type="response.created", response=started, sequence_number=next(seq)))
    events.append(
        ResponseInProgressEvent(type="response.in_progress", response=started, sequence_number=next(seq))
    )
    if isinstance(item, ResponseFunctionToolCall):
        assert item.id is not None
        events.append(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=item.model_copy(update={"arguments": "", "status": "in_progress"}),
                output_index=0,
                sequence_number=next(seq),
            )
        )
        events.append(
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=item.id,
                output_index=0,
                delta=item.arguments,
                sequence_number=next(seq),
            )
        )
        events.append(
            ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                item_id=item.id,
                output_index=0,
                arguments=item.arguments,
                sequence_number=next(seq),
            )
        )
    elif isinstance(item, ResponseOutputMessage):
        text = "".join(c.text for c in item.content if isinstance(c, ResponseOutputText))
        events.append(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=item.model_copy(update={"content": [], "status": "in_progress"}),
                output_index=0,
                sequence_number=next(seq),
            )
        )
        events.append(
            ResponseContentPartAddedEvent(
                type="response.content_part.added",
                item_id=item.id,
                output_index=0,
                content_index=0,
                part=ResponseOutputText(type="output_text", text="", annotations=[]),
                sequence_number=next(seq),
            )
        )
        for delta in _chunks(text):
            events.append(
                ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    item_id=item.id,
                    output_index=0,
                    content_index=0,
                    delta=delta,
                    logprobs=[],
                    sequence_number=next(seq),
                )
            )
        events.append(
            ResponseTextDoneEvent(
                type="response.output_text.done",
                item_id=item.id,
                output_index=0,
                content_index=0,
                text=text,
                logprobs=[],
                sequence_number=next(seq),
            )
        )
        events.append(
            ResponseContentPartDoneEvent(
                type="response.content_part.done",
                item_id=item.id,
                output_index=0,
                content_index=0,
                part=ResponseOutputText(type="output_text", text=text, annotations=[]),
                sequence_number=next(seq),
            )
        )
    events.append(
        ResponseOutputItemDoneEvent(
            type="response.output_item.done", item=item, output_index=0, sequence_number=next(seq)
        )
    )
    events.append(
        ResponseCompletedEvent(
            type="response.completed", response=response([item], "completed"), sequence_number=next(seq)
        )
    )
    return cast(list[TResponseStreamEvent], events)

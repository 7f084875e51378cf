"""A ChatKit client for the conversation tests: speaks the protocol to ``server.process``, parses SSE."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from chatkit.server import StreamingResult
from chatkit.types import ThreadItem
from pydantic import SecretStr

from support.fake_openai import FakeOpenAI
from task_assistant.chat.server import TaskChatKitServer
from task_assistant.context import RequestContext
from task_assistant.settings import Settings
from task_assistant.tasks.models import Task


@dataclass
class Events:
    """The parsed SSE events of one streamed request."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of("error")

    @property
    def done_items(self) -> list[dict[str, Any]]:
        return [e["item"] for e in self.of("thread.item.done")]

    @property
    def reply(self) -> str:
        """Text of the assistant messages completed in this stream."""
        return "\n".join(
            part["text"]
            for item in self.done_items
            if item["type"] == "assistant_message"
            for part in item["content"]
        )

    @property
    def deltas(self) -> list[str]:
        return [
            e["update"]["delta"]
            for e in self.of("thread.item.updated")
            if e["update"]["type"] == "assistant_message.content_part.text_delta"
        ]

    @property
    def progress(self) -> list[str]:
        """What the user saw while each tool ran: its workflow task as it started (with a spinner), or
        for a lookup a progress line."""
        started: list[dict[str, Any]] = []
        for event in self.events:
            if event["type"] == "progress_update":
                started.append({"title": event["text"], "status_indicator": "loading"})
            elif event["type"] == "thread.item.added" and event["item"]["type"] == "workflow":
                started += event["item"]["workflow"]["tasks"]
            elif event["type"] == "thread.item.updated" and event["update"]["type"] == "workflow.task.added":
                started.append(event["update"]["task"])
        return [task["title"] for task in started if task["status_indicator"] == "loading"]

    @property
    def workflows(self) -> list[dict[str, Any]]:
        """The workflow items completed in this stream (what the tools did, as stored)."""
        return [item for item in self.done_items if item["type"] == "workflow"]

    @property
    def activity(self) -> list[str]:
        """The titles of the finished tasks of this stream's workflows ("Added “buy milk”")."""
        return [task["title"] for item in self.workflows for task in item["workflow"]["tasks"]]

    @property
    def widgets(self) -> list[dict[str, Any]]:
        return [item for item in self.done_items if item["type"] == "widget"]

    @property
    def thread_id(self) -> str:
        created = self.of("thread.created")
        if created:
            return str(created[0]["thread"]["id"])
        return str(self.done_items[0]["thread_id"])


def message(text: str, attachments: list[str] | None = None) -> dict[str, Any]:
    """A user message input exactly as the ChatKit widget sends it."""
    return {
        "content": [{"type": "input_text", "text": text}],
        "quoted_text": "",
        "attachments": attachments or [],
        "inference_options": {},
    }


def tagged(*parts: str | tuple[str, str]) -> dict[str, Any]:
    """A message with @-mentions as the widget sends it: text, and (entity id, entity title) tags."""
    content = [
        {"type": "input_text", "text": part}
        if isinstance(part, str)
        else {"type": "input_tag", "id": part[0], "text": part[1], "data": {}, "interactive": True}
        for part in parts
    ]
    return {"content": content, "quoted_text": "", "attachments": [], "inference_options": {}}


def parse_sse(chunks: list[bytes]) -> Events:
    raw = b"".join(chunks).decode()
    out = Events()
    for frame in raw.split("\n\n"):
        if frame.startswith("data: "):
            out.events.append(json.loads(frame[len("data: ") :]))
    return out


@dataclass
class ChatClient:
    """Speaks the ChatKit protocol to ``server.process`` as one user."""

    server: TaskChatKitServer
    context: RequestContext

    async def send(self, body: dict[str, Any]) -> Events:
        result = await self.server.process(json.dumps(body), self.context)
        assert isinstance(result, StreamingResult), body["type"]
        return parse_sse([chunk async for chunk in result])

    async def request(self, body: dict[str, Any]) -> Any:
        result = await self.server.process(json.dumps(body), self.context)
        assert not isinstance(result, StreamingResult)
        return json.loads(result.json)

    async def create(self, text: str, attachments: list[str] | None = None) -> Events:
        return await self.send({"type": "threads.create", "params": {"input": message(text, attachments)}})

    async def post(self, thread_id: str | None, user_input: dict[str, Any]) -> Events:
        """Send a prepared input (see :func:`tagged`): to a new thread when ``thread_id`` is None."""
        if thread_id is None:
            return await self.send({"type": "threads.create", "params": {"input": user_input}})
        return await self.send(
            {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input}}
        )

    async def say(self, thread_id: str, text: str, attachments: list[str] | None = None) -> Events:
        return await self.send(
            {
                "type": "threads.add_user_message",
                "params": {"thread_id": thread_id, "input": message(text, attachments)},
            }
        )

    async def items(self, thread_id: str) -> list[ThreadItem]:
        """Every stored item of the thread, oldest first (straight from the store)."""
        page = await self.server.store.load_thread_items(thread_id, None, 200, "asc", self.context)
        return list(page.data)

    async def tasks(self) -> list[Task]:
        page = await self.server.tasks.list(self.context, status="all", limit=100)
        return list(page.tasks)

    async def titles(self) -> dict[str, bool]:
        """Task title -> completed, for the caller."""
        return {t.title: t.completed for t in await self.tasks()}


def openai_settings(settings: Settings, api: FakeOpenAI, **overrides: Any) -> Settings:
    """``settings`` configured the way production selects OpenAI: a key and a base URL."""
    return settings.model_copy(
        update={"openai_api_key": SecretStr("sk-test"), "openai_base_url": api.base_url, **overrides}
    )


async def upload(client: ChatClient, name: str, mime: str, data: bytes) -> str:
    """Two-phase upload as the widget does it: ``attachments.create``, then PUT to the presigned URL."""
    attachment = await client.request(
        {"type": "attachments.create", "params": {"name": name, "size": len(data), "mime_type": mime}}
    )
    upload = attachment["upload_descriptor"]
    async with httpx.AsyncClient() as http:
        response = await http.request(
            upload["method"], upload["url"], headers=upload.get("headers"), content=data
        )
    assert response.status_code in (200, 204), response.text
    return str(attachment["id"])


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

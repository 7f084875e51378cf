"""The store behind chatkit's own ChatKitServer: every request type that touches the store works.

The server calls the store with keyword arguments and relies on details (``Thread`` handed to
``save_thread``, attachments re-saved with a thread id, newest-first reads); this drives them through
``ChatKitServer.process`` with the request bodies the real widget sends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ThreadItemDoneEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
)

from task_assistant.chat.attachments import S3AttachmentStore
from task_assistant.chat.store import DynamoDBStore
from task_assistant.chat.store.keys import attachment_key
from task_assistant.context import RequestContext


def attachment_row(store: DynamoDBStore, context: RequestContext, attachment_id: str) -> dict[str, Any]:
    key = attachment_key(context.user_id, attachment_id)
    row: dict[str, Any] = store.dynamodb.get_item(TableName=store.table, Key=key, ConsistentRead=True)["Item"]
    return row


class EchoServer(ChatKitServer[RequestContext]):
    """Answers every message with its text reversed and titles new threads."""

    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: RequestContext
    ) -> AsyncIterator[ThreadStreamEvent]:
        text = ""
        if input_user_message is not None:
            text = "".join(getattr(part, "text", "") for part in input_user_message.content)
        thread.title = thread.title or f"About {text[:10]}"
        yield ThreadItemDoneEvent(
            item=AssistantMessageItem(
                id=self.store.generate_item_id("message", thread, context),
                thread_id=thread.id,
                created_at=datetime.now(),
                content=[AssistantMessageContent(text=text[::-1])],
            )
        )


async def call(server: EchoServer, body: dict[str, Any], ctx: RequestContext) -> Any:
    result = await server.process(json.dumps(body), ctx)
    if isinstance(result, StreamingResult):
        events = []
        async for chunk in result:
            for line in chunk.decode().splitlines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        return events
    assert isinstance(result, NonStreamingResult)
    return json.loads(result.json)


def message(text: str, attachments: list[str] | None = None) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "quoted_text": "",
        "attachments": attachments or [],
        "inference_options": {},
    }


async def test_widget_requests_round_trip_through_the_store(
    store: DynamoDBStore, attachment_store: S3AttachmentStore, alice: RequestContext, bob: RequestContext
) -> None:
    server = EchoServer(store, attachment_store)

    created = await call(
        server,
        {"type": "attachments.create", "params": {"name": "a.txt", "size": 3, "mime_type": "text/plain"}},
        alice,
    )
    async with httpx.AsyncClient() as http:
        upload = created["upload_descriptor"]
        assert (await http.put(upload["url"], content=b"abc", headers=upload["headers"])).status_code == 200
    # Not in a message yet: its metadata would expire (an abandoned upload leaves no row behind).
    assert "expires_at" in attachment_row(store, alice, created["id"])

    events = await call(
        server, {"type": "threads.create", "params": {"input": message("Hi there", [created["id"]])}}, alice
    )
    thread_id = events[0]["thread"]["id"]
    assert thread_id.startswith("thr_") and len(thread_id) == 30
    assert [e["type"] for e in events if e["type"].startswith("thread.item")] == [
        "thread.item.done",
        "thread.item.done",
    ]
    await call(
        server,
        {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("Second")}},
        alice,
    )

    full = await call(server, {"type": "threads.get_by_id", "params": {"thread_id": thread_id}}, alice)
    texts = [c["text"] for item in full["items"]["data"] for c in item["content"]]
    assert texts == ["Hi there", "ereht iH", "Second", "dnoceS"]
    assert full["title"] == "About Hi there"
    assert full["items"]["data"][0]["attachments"][0]["thread_id"] == thread_id
    assert (await store.load_attachment(created["id"], alice)).thread_id == thread_id
    assert "expires_at" not in attachment_row(store, alice, created["id"])  # sent: kept with the thread

    newest = await call(
        server, {"type": "items.list", "params": {"thread_id": thread_id, "limit": 1, "order": "desc"}}, alice
    )
    assert [i["content"][0]["text"] for i in newest["data"]] == ["dnoceS"]
    assert newest["has_more"] is True and newest["after"] == newest["data"][0]["id"]

    await call(
        server, {"type": "threads.update", "params": {"thread_id": thread_id, "title": "Renamed"}}, alice
    )
    listed = await call(server, {"type": "threads.list", "params": {"limit": 10_000}}, alice)
    assert [(t["id"], t["title"]) for t in listed["data"]] == [(thread_id, "Renamed")]
    assert await call(server, {"type": "threads.list", "params": {}}, bob) == {"data": [], "has_more": False}
    foreign = await call(server, {"type": "items.list", "params": {"thread_id": thread_id}}, bob)
    assert foreign["data"] == []

    await call(server, {"type": "threads.delete", "params": {"thread_id": thread_id}}, alice)
    assert (await call(server, {"type": "threads.list", "params": {}}, alice))["data"] == []
    listing = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=f"attachments/{alice.user_id}/")
    assert listing.get("KeyCount", 0) == 0

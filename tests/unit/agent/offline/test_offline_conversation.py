"""Reading the model input as ChatKit's converter writes it: the typed message is the user's request.

The converter here is the application's own (:class:`TaskThreadItemConverter` over chatkit's
``ThreadItemConverter``), so a chatkit upgrade that rewords one of its context messages fails here
instead of making the offline model answer a message the user never typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from chatkit.types import (
    CustomTask,
    HiddenContextItem,
    InferenceOptions,
    SDKHiddenContextItem,
    StructuredInputFreeform,
    StructuredInputItem,
    TaskItem,
    ThreadItem,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
    WidgetItem,
    Workflow,
    WorkflowItem,
)
from chatkit.widgets import Card, Text
from openai.types.responses import ResponseInputContentParam

from task_assistant.agent.listing import ListedTask
from task_assistant.agent.offline import read_conversation
from task_assistant.chat.converter import TaskThreadItemConverter
from task_assistant.chat.widgets import task_list_widget
from task_assistant.context import RequestContext

ID1 = "01JD0000000000000000000001"
NOW = datetime(2025, 1, 1)
BASE: dict[str, Any] = {"thread_id": "thr_1", "created_at": NOW}


class TaggingConverter(TaskThreadItemConverter):
    """The application's converter plus @-mention tags (which chatkit leaves to the integration)."""

    async def tag_to_message_content(self, tag: UserMessageTagContent) -> ResponseInputContentParam:
        return {"type": "input_text", "text": f"{tag.text} is a project"}


def _typed(text: str, **extra: Any) -> UserMessageItem:
    return UserMessageItem(
        id="msg_user",
        content=[UserMessageTextContent(text=text)],
        inference_options=InferenceOptions(),
        **BASE,
        **extra,
    )


CONTEXT_ITEMS: dict[str, ThreadItem] = {
    "hidden context": HiddenContextItem(id="hc", content="the user is on the mobile app", **BASE),
    "sdk hidden context": SDKHiddenContextItem(id="shc", content="The user cancelled the stream.", **BASE),
    "task": TaskItem(id="task", task=CustomTask(title="Searched", content="3 results"), **BASE),
    "workflow": WorkflowItem(
        id="wf", workflow=Workflow(type="custom", tasks=[CustomTask(title="Step", content="done")]), **BASE
    ),
    "structured input": StructuredInputItem(
        id="si", inputs=[StructuredInputFreeform(id="q", question="When?")], **BASE
    ),
    "other widget": WidgetItem(id="w1", widget=Card(children=[Text(value="hello")]), **BASE),
    "task list widget": WidgetItem(
        id="w2", widget=task_list_widget([ListedTask(ID1, "buy milk", False)]), **BASE
    ),
}


@pytest.mark.parametrize("kind", list(CONTEXT_ITEMS))
async def test_context_chatkit_adds_is_not_read_as_the_users_message(kind: str) -> None:
    converter = TaggingConverter(None, RequestContext(user_id="alice", request_id="r1"))
    model_input = await converter.to_agent_input([_typed("add buy milk"), CONTEXT_ITEMS[kind]])
    assert len(model_input) == 2, "the context item became a message of its own"
    assert read_conversation(model_input).user_text == "add buy milk"


async def test_quoted_text_and_tags_are_not_read_as_the_users_message() -> None:
    converter = TaggingConverter(None, RequestContext(user_id="alice", request_id="r1"))
    tag = UserMessageTagContent(id="t1", text="garden", data={})
    message = _typed("delete it", quoted_text="water the plants")
    message.content.append(tag)
    model_input = await converter.to_agent_input([message])
    assert len(model_input) == 3, "the typed message, the quoted text and the tag context"
    assert read_conversation(model_input).user_text == "delete it@garden"

"""A user message with a tag (the widget's @-mention) converts to model input instead of failing the turn.

Found by the reliability suite's fuzzing: chatkit's converter raises NotImplementedError for tags, which
ended that turn with ``stream.error`` and every later turn of the thread too (the message stays in the
history).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatkit.types import InferenceOptions, UserMessageItem, UserMessageTagContent, UserMessageTextContent

from task_assistant.agent.listing import TaggedTask, format_tagged_task
from task_assistant.chat.converter import TaskThreadItemConverter
from task_assistant.context import RequestContext


async def test_a_tagged_message_reaches_the_model_with_the_tag_named() -> None:
    item = UserMessageItem(
        id="msg_1",
        thread_id="thr_1",
        created_at=datetime(2026, 1, 1),
        content=[
            UserMessageTextContent(text="complete "),
            UserMessageTagContent(id="t1", text="buy milk", data={"secret": "not for the model"}),
        ],
        attachments=[],
        inference_options=InferenceOptions(),
    )
    converter = TaskThreadItemConverter(None, RequestContext(user_id="alice"))
    model_input: Any = await converter.to_agent_input([item])
    rendered = repr(model_input)
    assert "complete @buy milk" in rendered
    # Without a task service to resolve it, the tag reaches the model as an unknown mention.
    assert format_tagged_task(TaggedTask(mention="buy milk")) in rendered
    assert "not for the model" not in rendered

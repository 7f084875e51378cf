"""One realistic sample of every ChatKit thread item type, for the store's round-trip tests."""

from __future__ import annotations

import typing
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from chatkit.actions import ActionConfig
from chatkit.types import (
    Annotation,
    AssistantMessageContent,
    ClientToolCallItem,
    CustomSummary,
    CustomTask,
    DurationSummary,
    EndOfTurnItem,
    EntitySource,
    FileAttachment,
    FileSource,
    FileTask,
    GeneratedImage,
    GeneratedImageItem,
    HiddenContextItem,
    ImageAttachment,
    ImageTask,
    InferenceOptions,
    SDKHiddenContextItem,
    SearchTask,
    StructuredInputAnswer,
    StructuredInputFreeform,
    StructuredInputItem,
    StructuredInputMultipleChoice,
    StructuredInputMultipleChoiceOption,
    TaskItem,
    ThoughtTask,
    ThreadItem,
    ToolChoice,
    URLSource,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
    WidgetItem,
    Workflow,
    WorkflowItem,
)
from chatkit.types import AssistantMessageItem as _Assistant
from chatkit.widgets import (
    Badge,
    BasicRoot,
    Box,
    Button,
    Card,
    Col,
    DynamicWidgetComponent,
    ListView,
    ListViewItem,
    Markdown,
    Row,
    Text,
    Title,
)
from pydantic import AnyUrl

BASE = datetime(2025, 3, 14, 15, 9, 26, 535897)  # naive, with microseconds, like datetime.now()


def all_item_types() -> set[type]:
    """Every class in ChatKit's ``ThreadItem`` union."""
    union = typing.get_args(ThreadItem)[0]
    return set(typing.get_args(union))


def file_attachment(thread_id: str | None = None) -> FileAttachment:
    return FileAttachment(
        id="atc_file",
        name="plan.pdf",
        mime_type="application/pdf",
        thread_id=thread_id,
        metadata={"size": 1234, "nested": {"a": [1, 2.5, None, True]}},
    )


def image_attachment(thread_id: str | None = None) -> ImageAttachment:
    return ImageAttachment(
        id="atc_image",
        name="whiteboard.png",
        mime_type="image/png",
        preview_url=AnyUrl("https://example.com/preview/whiteboard.png?X-Amz-Signature=abc%2Fdef"),
        thread_id=thread_id,
        metadata={"size": 99},
    )


def widget_tree() -> Card:
    with _named_widgets():
        return _widget_tree()


def list_widget() -> ListView:
    with _named_widgets():
        return _list_widget()


@contextmanager
def _named_widgets() -> Iterator[None]:
    # Building widgets from the named classes is deprecated upstream in favour of .widget templates;
    # the samples still use them as the most direct way to write a real widget tree.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Direct usage of named widget", category=DeprecationWarning)
        yield


def _widget_tree() -> Card:
    return Card(
        size="md",
        padding={"x": 4, "y": 3},
        status={"text": "3 tasks", "icon": "check-circle"},
        confirm={"label": "Done", "action": ActionConfig(type="tasks.complete", payload={"ids": [1, 2]})},
        children=[
            Title(value="Today", size="lg"),
            Row(
                gap=2,
                align="center",
                children=[
                    Badge(label="urgent", color="danger"),
                    Text(
                        value="Pay the rent", weight="semibold", color={"light": "red-500", "dark": "red-200"}
                    ),
                ],
            ),
            Col(
                border={"bottom": 1},
                children=[
                    Markdown(value="**Notes:** call the landlord"),
                    Box(
                        children=[Button(label="Open", onClickAction=ActionConfig(type="open", payload=None))]
                    ),
                ],
            ),
        ],
    )


def _list_widget() -> ListView:
    return ListView(
        limit=5,
        children=[
            ListViewItem(
                key=f"task-{i}",
                onClickAction=ActionConfig(type="tasks.show", payload={"id": i}),
                children=[Text(value=f"Task {i}")],
            )
            for i in range(3)
        ],
    )


def sample_items(thread_id: str = "thr_samples") -> list[ThreadItem]:
    """One or more instances of every ThreadItem type, oldest first, all distinct created_at."""
    t = [BASE + timedelta(seconds=i) for i in range(30)]
    items: list[ThreadItem] = [
        UserMessageItem(
            id="msg_user",
            thread_id=thread_id,
            created_at=t[0],
            content=[
                UserMessageTextContent(text="Plan my week, see attached"),
                UserMessageTagContent(
                    id="tag1", text="@groceries", data={"list": "groceries", "n": 3}, group="lists"
                ),
            ],
            attachments=[file_attachment(thread_id), image_attachment(thread_id)],
            quoted_text="",
            inference_options=InferenceOptions(tool_choice=ToolChoice(id="tasks"), model="gpt-4.1-mini"),
        ),
        _Assistant(
            id="msg_assistant",
            thread_id=thread_id,
            created_at=t[1],
            content=[
                AssistantMessageContent(
                    text="Here is your week [1][2][3]",
                    annotations=[
                        Annotation(
                            source=URLSource(title="Docs", url="https://example.com/a", attribution="ex"),
                            index=24,
                        ),
                        Annotation(source=FileSource(title="Plan", filename="plan.pdf", description="d")),
                        Annotation(
                            source=EntitySource(
                                title="Task 7",
                                id="task_7",
                                icon="check",
                                label="Task",
                                inline_label="#7",
                                interactive=True,
                                data={"due": "2025-03-15"},
                            ),
                            index=None,
                        ),
                    ],
                ),
                AssistantMessageContent(text="Second part, emoji 🎉 and unicode ✓"),
            ],
        ),
        ClientToolCallItem(
            id="tc_pending",
            thread_id=thread_id,
            created_at=t[2],
            call_id="call_1",
            name="get_location",
            arguments={"precise": True, "nested": {"x": [1, 2]}},
        ),
        ClientToolCallItem(
            id="tc_done",
            thread_id=thread_id,
            created_at=t[3],
            status="completed",
            call_id="call_2",
            name="get_location",
            arguments={},
            output={"lat": 52.52, "lon": 13.405, "ok": True},
        ),
        WidgetItem(
            id="wd_card", thread_id=thread_id, created_at=t[4], widget=widget_tree(), copy_text="Today"
        ),
        WidgetItem(id="wd_list", thread_id=thread_id, created_at=t[5], widget=list_widget()),
        WidgetItem(
            id="wd_basic",
            thread_id=thread_id,
            created_at=t[6],
            widget=BasicRoot(
                children=[DynamicWidgetComponent(type="Text", value="templated", custom_field={"a": 1})]
            ),
        ),
        GeneratedImageItem(
            id="img_1",
            thread_id=thread_id,
            created_at=t[7],
            image=GeneratedImage(id="gi_1", url="https://example.com/generated.png"),
        ),
        GeneratedImageItem(id="img_pending", thread_id=thread_id, created_at=t[8]),
        StructuredInputItem(
            id="si_1",
            thread_id=thread_id,
            created_at=t[9],
            status="answered",
            inputs=[
                StructuredInputMultipleChoice(
                    id="q1",
                    question="Which day?",
                    options=[StructuredInputMultipleChoiceOption(value="Mon")],
                    multiple=True,
                    answer=StructuredInputAnswer(values=["Mon"]),
                ),
                StructuredInputFreeform(id="q2", question="Anything else?", description="optional"),
            ],
        ),
        WorkflowItem(
            id="wf_1",
            thread_id=thread_id,
            created_at=t[10],
            workflow=Workflow(
                type="custom",
                summary=CustomSummary(title="Planned", icon="calendar"),
                expanded=True,
                tasks=[
                    CustomTask(title="Look up", icon="search", content="c", status_indicator="complete"),
                    SearchTask(
                        title="Search",
                        title_query="rent",
                        queries=["rent due"],
                        sources=[URLSource(title="Bank", url="https://bank.example")],
                    ),
                    ThoughtTask(title="Think", content="Monday is free", status_indicator="loading"),
                    FileTask(title="Read", sources=[FileSource(title="plan", filename="plan.pdf")]),
                    ImageTask(title="Draw"),
                ],
            ),
        ),
        WorkflowItem(
            id="wf_reasoning",
            thread_id=thread_id,
            created_at=t[11],
            workflow=Workflow(type="reasoning", tasks=[], summary=DurationSummary(duration=12)),
        ),
        TaskItem(
            id="tsk_1",
            thread_id=thread_id,
            created_at=t[12],
            task=CustomTask(title="Added a task", icon="check", status_indicator="complete"),
        ),
        HiddenContextItem(
            id="hc_1",
            thread_id=thread_id,
            created_at=t[13],
            content={"previous_response_id": "resp_1", "list": [1, "two", None]},
        ),
        SDKHiddenContextItem(id="shcx_1", thread_id=thread_id, created_at=t[14], content="<context/>"),
        EndOfTurnItem(id="eot_1", thread_id=thread_id, created_at=t[15]),
        _Assistant(
            id="msg_aware",
            thread_id=thread_id,
            created_at=datetime(2025, 3, 14, 16, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
            content=[AssistantMessageContent(text="aware timestamps survive too")],
        ),
    ]
    return items


def user_message(thread_id: str, item_id: str, created_at: datetime, text: str = "hi") -> UserMessageItem:
    return UserMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=created_at,
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        quoted_text=None,
        inference_options=InferenceOptions(),
    )


def assistant_message(thread_id: str, item_id: str, created_at: datetime, text: str) -> _Assistant:
    return _Assistant(
        id=item_id,
        thread_id=thread_id,
        created_at=created_at,
        content=[AssistantMessageContent(text=text)],
    )

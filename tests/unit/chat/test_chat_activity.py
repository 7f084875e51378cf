"""The texts of the tool activity workflow: what a finished call did, the summary, the model's one line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chatkit.agents import AgentContext
from chatkit.types import CustomSummary, CustomTask, ThreadMetadata, Workflow, WorkflowItem

from task_assistant.agent.listing import ACTIVITY_HEADER
from task_assistant.chat.activity import (
    ACTIVITY_LINE_MAX_ENTRIES,
    INTERRUPTED_DETAIL,
    activity_line,
    interrupted_workflow,
    outcome_text,
    summary_title,
)
from task_assistant.context import RequestContext

ID1 = "01JD0000000000000000000001"


def _task(title: str, icon: Any = "plus", status: Any = "complete") -> CustomTask:
    return CustomTask(title=title, icon=icon, status_indicator=status)


def _workflow(*tasks: CustomTask) -> WorkflowItem:
    return WorkflowItem(
        id="wf_1",
        thread_id="thr_1",
        created_at=datetime.now(),
        workflow=Workflow(type="custom", tasks=list(tasks)),
    )


def _result(key: str, title: str, completed: bool = False) -> str:
    return json.dumps({key: {"id": ID1, "title": title, "completed": completed}})


def test_outcomes_name_the_task_from_the_tool_result() -> None:
    assert outcome_text("add_task", {"title": "buy milk"}, _result("task", "buy milk")) == (
        "Added \u201cbuy milk\u201d",
        None,
    )
    # Called by id: the result names the task.
    assert outcome_text("complete_task", {"task": ID1}, _result("task", "buy milk", True)) == (
        "Completed \u201cbuy milk\u201d",
        None,
    )
    assert outcome_text("delete_task", {"task": ID1}, _result("deleted", "old")) == (
        "Deleted \u201cold\u201d",
        None,
    )
    assert outcome_text("update_task", {"task": ID1, "title": "b"}, _result("task", "b"), {ID1: "a"}) == (
        "Renamed \u201ca\u201d to \u201cb\u201d",
        None,
    )
    assert outcome_text("update_task", {"task": "a", "notes": "n"}, _result("task", "a"))[0] == (
        "Updated the notes of \u201ca\u201d"
    )
    listed = json.dumps({"status": "pending", "tasks": [{"id": ID1, "title": "a", "completed": False}]})
    assert outcome_text("list_tasks", {"status": "pending"}, listed) == ("Found 1 pending task", None)
    assert outcome_text("list_tasks", {}, json.dumps({"tasks": []}))[0] == "Found no tasks"


def test_a_failure_says_what_could_not_be_done_and_why() -> None:
    text, error = outcome_text("complete_task", {"task": "walk dog"}, "No task found for 'walk dog'.")
    assert text == "Couldn't complete \u201cwalk dog\u201d"
    assert error == "No task found for 'walk dog'."
    _, long_error = outcome_text("add_task", {"title": "x"}, "e" * 1000)
    assert long_error is not None and len(long_error) <= 300


def test_summary_is_the_one_action_or_counts() -> None:
    assert summary_title([_task("Added \u201ca\u201d")]) == "Added \u201ca\u201d"
    assert (
        summary_title(
            [
                _task("Added \u201ca\u201d"),
                _task("Added \u201cb\u201d"),
                _task("Deleted \u201cc\u201d", icon="dot"),
                _task("Couldn't delete \u201cd\u201d", icon="dot", status="none"),
            ]
        )
        == "Added 2 tasks, deleted 1 task, 1 action failed"
    )
    assert summary_title([_task("Found 2 tasks", icon="search"), _task("x", icon="search")]) == (
        "Looked up your tasks"
    )


def test_the_model_reads_one_bounded_line() -> None:
    assert activity_line(
        _workflow(_task("Added \u201ca\u201d"), _task("Deleted \u201cb\u201d", icon="dot"))
    ) == (f"{ACTIVITY_HEADER} Added \u201ca\u201d; Deleted \u201cb\u201d.")
    many = activity_line(_workflow(*[_task(f"Added \u201c{n}\u201d") for n in range(25)]))
    assert many is not None and many.endswith("; and 15 more.")
    assert many.count("Added") == ACTIVITY_LINE_MAX_ENTRIES
    assert activity_line(_workflow()) is None


def test_an_interrupted_workflow_is_stored_with_running_tasks_marked() -> None:
    ctx = AgentContext[RequestContext](
        thread=ThreadMetadata(id="thr_1", created_at=datetime.now()),
        store=None,  # not used: no id is generated here
        request_context=RequestContext(user_id="alice"),
    )
    assert interrupted_workflow(ctx) is None
    ctx.workflow_item = _workflow(
        _task("Added \u201ca\u201d"), _task("Deleting \u201cb\u201d\u2026", "dot", "loading")
    )
    event = interrupted_workflow(ctx)
    assert event is not None and ctx.workflow_item is None
    assert isinstance(event.item, WorkflowItem)
    done, stopped = event.item.workflow.tasks
    assert isinstance(done, CustomTask) and done.status_indicator == "complete"
    assert isinstance(stopped, CustomTask) and stopped.status_indicator == "none"
    assert stopped.content == INTERRUPTED_DETAIL
    assert event.item.workflow.summary == CustomSummary(title="Added 1 task, 1 action stopped")

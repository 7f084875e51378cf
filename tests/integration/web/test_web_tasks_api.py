"""/tasks over real HTTP: CRUD, filters and paging, conditional updates, errors, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support.web import bearer
from task_assistant.local.token_issuer import LocalIssuer


@pytest.fixture
def alice(tasks_url: str, issuer: LocalIssuer, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tasks_url, headers=bearer(issuer, user), timeout=10) as client:
        yield client


def test_crud_round_trip(alice: httpx.Client) -> None:
    created = alice.post("/tasks", json={"title": "  buy milk ", "notes": "2 litres"})
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["title"] == "buy milk" and task["status"] == "pending" and task["version"] == 1
    assert created.headers["ETag"] == '"1"' and created.headers["Location"] == f"/tasks/{task['id']}"

    got = alice.get(f"/tasks/{task['id']}")
    assert got.status_code == 200 and got.json() == task

    patched = alice.patch(f"/tasks/{task['id']}", json={"title": "buy oat milk"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "buy oat milk" and patched.json()["version"] == 2

    done = alice.post(f"/tasks/{task['id']}/complete")
    assert done.json()["completed"] is True and done.json()["status"] == "completed"
    reopened = alice.post(f"/tasks/{task['id']}/reopen", headers={"If-Match": done.headers["ETag"]})
    assert reopened.status_code == 200 and reopened.json()["completed"] is False

    deleted = alice.delete(f"/tasks/{task['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"]["id"] == task["id"]
    assert alice.get(f"/tasks/{task['id']}").status_code == 404


def test_list_filter_and_pages(alice: httpx.Client) -> None:
    ids = [alice.post("/tasks", json={"title": f"task {n}"}).json()["id"] for n in range(5)]
    alice.post(f"/tasks/{ids[0]}/complete")
    pending = alice.get("/tasks", params={"status": "pending"}).json()
    assert [t["id"] for t in pending["tasks"]] == ids[:0:-1]  # newest first, without the completed one
    completed = alice.get("/tasks", params={"status": "completed"}).json()
    assert [t["id"] for t in completed["tasks"]] == [ids[0]]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = alice.get("/tasks", params=params).json()
        assert len(page["tasks"]) <= 2
        seen += [t["id"] for t in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_limit_above_cap_is_capped(alice: httpx.Client, web_settings) -> None:
    for n in range(3):
        alice.post("/tasks", json={"title": f"t{n}"})
    response = alice.get("/tasks", params={"limit": 10**9})
    assert response.status_code == 200 and len(response.json()["tasks"]) == 3


def test_search_finds_the_callers_tasks_as_widget_entities(
    alice: httpx.Client, tasks_url: str, issuer: LocalIssuer
) -> None:
    """What the page's entities.onTagSearch asks for while the user types "@milk" in the composer."""
    done = alice.post("/tasks", json={"title": "Milk the cow"}).json()
    alice.post(f"/tasks/{done['id']}/complete")
    buy = alice.post("/tasks", json={"title": "buy milk"}).json()
    alice.post("/tasks", json={"title": "call mom"})
    with httpx.Client(base_url=tasks_url, headers=bearer(issuer, "someone-else"), timeout=10) as other:
        other.post("/tasks", json={"title": "their milk"})

    response = alice.get("/tasks/search", params={"q": "MILK"})
    assert response.status_code == 200, response.text
    # The widget's Entity type: id, title, group, icon, interactive, data (string values).
    assert response.json() == {
        "entities": [
            {
                "id": done["id"],
                "title": "Milk the cow",
                "group": "Done",
                "icon": "check-circle",
                "interactive": True,
                "data": {"status": "completed", "short_id": "#" + done["id"][-4:].lower()},
            },
            {
                "id": buy["id"],
                "title": "buy milk",
                "group": "Pending",
                "icon": "empty-circle",
                "interactive": True,
                "data": {"status": "pending", "short_id": "#" + buy["id"][-4:].lower()},
            },
        ]
    }
    assert len(alice.get("/tasks/search").json()["entities"]) == 3, "no query: the caller's tasks"
    assert len(alice.get("/tasks/search", params={"q": "", "limit": 10**6}).json()["entities"]) == 3
    assert httpx.get(f"{tasks_url}/tasks/search", params={"q": "milk"}).status_code == 401
    too_long = alice.get("/tasks/search", params={"q": "x" * 201})
    assert too_long.status_code == 400 and "q" in too_long.json()["error"]["message"]


def test_stale_version_is_409(alice: httpx.Client) -> None:
    task = alice.post("/tasks", json={"title": "a"}).json()
    alice.patch(f"/tasks/{task['id']}", json={"title": "b"})
    stale = alice.patch(f"/tasks/{task['id']}", json={"title": "c", "expected_version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    stale_delete = alice.delete(f"/tasks/{task['id']}", headers={"If-Match": '"1"'})
    assert stale_delete.status_code == 409
    assert alice.get(f"/tasks/{task['id']}").json()["title"] == "b"


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "where"),
    [
        ("POST", "/tasks", {"title": ""}, {}, "title"),
        ("POST", "/tasks", {"title": "x" * 501}, {}, "title"),
        ("POST", "/tasks", {"title": "ok", "owner": "bob"}, {}, "owner"),
        ("POST", "/tasks", {}, {}, "title"),
        ("GET", "/tasks?status=done", None, {}, "status"),
        ("GET", "/tasks?limit=0", None, {}, "limit"),
        ("GET", "/tasks?limit=abc", None, {}, "limit"),
        ("PATCH", "/tasks/01JAAAAAAAAAAAAAAAAAAAAAAA", {}, {}, "title"),
        ("PATCH", "/tasks/01JAAAAAAAAAAAAAAAAAAAAAAA", {"title": "x"}, {"If-Match": "abc"}, "If-Match"),
        ("GET", "/tasks/not-a-task-id", None, {}, "task_id"),
    ],
)
def test_bad_input_is_400_naming_the_problem(alice, method, path, body, headers, where) -> None:
    response = alice.request(method, path, json=body, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and where in response.text
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_not_json_is_400(alice: httpx.Client) -> None:
    response = alice.post("/tasks", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_openapi_describes_tasks(tasks_url: str) -> None:
    schema = httpx.get(f"{tasks_url}/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/tasks"]) == {"get", "post"}
    assert set(paths["/tasks/{task_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/tasks/search"]) == {"get"}
    assert "post" in paths["/tasks/{task_id}/complete"] and "post" in paths["/tasks/{task_id}/reopen"]
    assert {"TaskOut", "TaskCreate", "TaskUpdate", "TaskListOut"} <= set(schema["components"]["schemas"])
    assert "HTTPBearer" in schema["components"]["securitySchemes"]

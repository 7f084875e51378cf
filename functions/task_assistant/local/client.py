"""``task-assistant-chat``: a terminal client for the ChatKit protocol, against a local or deployed stack.

It speaks exactly what the web widget speaks (``POST /chatkit``, server-sent events for answers) and
prints the assistant's answer as the text deltas arrive.

Authentication, one of:

- ``--token TOKEN``: any token the stack accepts;
- ``--local-user NAME``: a token from the local issuer (the key in the local data directory, so this
  works while ``make dev`` runs); the default when no other option is given;
- ``--user-pool-id/--client-id/--username/--password``: sign in to Cognito (``USER_PASSWORD_AUTH``;
  the app client must allow that flow; ``--client-secret`` if the client has one).

Interactive commands: ``/new``, ``/threads``, ``/resume <thread id>``, ``/tasks [all|pending|completed]``,
``/help``, ``/quit``; anything else is sent as a message. ``--message TEXT`` (repeatable) runs the
messages (and commands) in order without a prompt, for scripts and tests; the exit status is 1 if
any of them failed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
HELP = """Commands:
  /new                       start a new thread (the next message creates it)
  /threads                   list your recent threads
  /resume <thread id>        continue a thread (prints its history)
  /tasks [all|pending|completed]   list your tasks
  /help                      this help
  /quit                      leave
Anything else is sent to the assistant."""


class ChatError(Exception):
    """A request the server refused or could not answer; the message is fit to print."""


def _message_input(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "quoted_text": "",
        "attachments": [],
        "inference_options": {},
    }


def _text_of(item: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))


def _task_line(task: dict[str, Any]) -> str:
    """One task of a workflow item (what a tool did): "· Added “buy milk”", a failure with its reason."""
    mark = {"loading": "\u00b7", "complete": "\u2713"}.get(task.get("status_indicator", ""), "\u2717")
    detail = f": {task['content']}" if task.get("content") else ""
    return f"{mark} {task.get('title') or ''}{detail}"


def _activity_of(event: dict[str, Any]) -> list[str]:
    """The lines a workflow event adds: its tasks as they start, and each as it ends."""
    if event.get("type") == "thread.item.added" and event["item"].get("type") == "workflow":
        return [_task_line(task) for task in event["item"]["workflow"].get("tasks", [])]
    update = event.get("update", {}) if event.get("type") == "thread.item.updated" else {}
    if update.get("type") in ("workflow.task.added", "workflow.task.updated"):
        return [_task_line(update["task"])]
    return []


class ChatClient:
    """One conversation at a time with a ChatKit endpoint, printing to ``out``."""

    def __init__(self, url: str, token: str, *, out: TextIO | None = None, timeout: float = 120.0) -> None:
        self.base_url = url.rstrip("/")
        self.out = out or sys.stdout
        self.thread_id: str | None = None
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def close(self) -> None:
        self.http.close()

    def _print(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    @staticmethod
    def _error_of(response: httpx.Response) -> ChatError:
        try:
            error = response.json()["error"]
            message = f"{error.get('message')} (HTTP {response.status_code}, {error.get('code')})"
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}: {response.text[:200]}"
        return ChatError(message)

    def request(self, kind: str, params: dict[str, Any]) -> Any:
        """A non-streaming ChatKit request; its JSON answer."""
        response = self.http.post("/chatkit", json={"type": kind, "params": params})
        if response.status_code != 200:
            raise self._error_of(response)
        return response.json()

    def _events(self, kind: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        with self.http.stream("POST", "/chatkit", json={"type": kind, "params": params}) as response:
            if response.status_code != 200:
                response.read()
                raise self._error_of(response)
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[6:])

    # One branch per ChatKit event type the terminal renders: a flat dispatch, read top to bottom.
    def send(self, text: str) -> str:  # noqa: C901, PLR0912
        """Send ``text`` (in a new thread if none is open) and print the answer live; returns it."""
        if self.thread_id is None:
            events = self._events("threads.create", {"input": _message_input(text)})
        else:
            events = self._events(
                "threads.add_user_message", {"thread_id": self.thread_id, "input": _message_input(text)}
            )
        answer: list[str] = []
        streamed: set[str] = set()
        failure: str | None = None
        for event in events:
            kind = event.get("type")
            if kind == "thread.created":
                self.thread_id = event["thread"]["id"]
                self._print(f"· thread {self.thread_id}")
            elif kind == "progress_update":
                self._print(f"· {event.get('text', '')}")
            elif lines := _activity_of(event):
                for line in lines:
                    self._print(line)
            elif kind == "thread.item.added" and event["item"].get("type") == "assistant_message":
                self._print("assistant> ", end="")
            elif kind == "thread.item.updated":
                update = event.get("update", {})
                if update.get("type") == "assistant_message.content_part.text_delta":
                    streamed.add(event["item_id"])
                    answer.append(update.get("delta", ""))
                    self._print(update.get("delta", ""), end="")
            elif kind == "thread.item.done":
                item = event["item"]
                if item.get("type") == "assistant_message":
                    if item["id"] not in streamed:
                        answer.append(_text_of(item))
                        self._print(_text_of(item), end="")
                    self._print()
                elif item.get("type") == "widget":
                    copy = item.get("copy_text") or "[widget]"
                    answer.append(copy)
                    self._print(copy)
            elif kind == "notice":
                self._print(f"· {event.get('message', '')}")
            elif kind == "error":
                failure = event.get("message") or "the assistant could not answer (stream error)"
                self._print(f"error: {failure}")
        if failure is not None:
            raise ChatError(failure)
        return "".join(answer)

    def list_threads(self, limit: int = 20) -> list[dict[str, Any]]:
        page = self.request("threads.list", {"limit": limit, "order": "desc"})
        threads: list[dict[str, Any]] = page.get("data", [])
        if not threads:
            self._print("no threads yet")
        for thread in threads:
            marker = "*" if thread["id"] == self.thread_id else " "
            title = thread.get("title") or "(untitled)"
            self._print(f"{marker} {thread['id']}  {thread.get('created_at', '')[:19]}  {title}")
        return threads

    def resume(self, thread_id: str) -> dict[str, Any]:
        thread: dict[str, Any] = self.request("threads.get_by_id", {"thread_id": thread_id})
        self.thread_id = thread["id"]
        self._print(f"· thread {thread['id']}: {thread.get('title') or '(untitled)'}")
        after = None
        while True:  # the whole history, oldest first
            params: dict[str, Any] = {"thread_id": thread_id, "order": "asc", "limit": 50}
            if after:
                params["after"] = after
            page = self.request("items.list", params)
            for item in page.get("data", []):
                if item.get("type") == "user_message":
                    self._print(f"you> {_text_of(item)}")
                elif item.get("type") == "assistant_message":
                    self._print(f"assistant> {_text_of(item)}")
                elif item.get("type") == "widget" and item.get("copy_text"):
                    self._print(item["copy_text"])
                elif item.get("type") == "workflow":
                    for task in item["workflow"].get("tasks", []):
                        self._print(_task_line(task))
            if not page.get("has_more"):
                break
            after = page.get("after")
        return thread

    def list_tasks(self, status: str = "all") -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"status": status, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            response = self.http.get("/tasks", params=params)
            if response.status_code != 200:
                raise self._error_of(response)
            page = response.json()
            tasks += page["tasks"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if not tasks:
            self._print(f"no {'' if status == 'all' else status + ' '}tasks")
        for n, task in enumerate(tasks, start=1):
            box = "x" if task["completed"] else " "
            self._print(f"{n:>3}. [{box}] {task['title']}  ({task['id']})")
        return tasks

    def handle(self, line: str) -> bool:
        """Run one input line (a command or a message); False when the user wants to quit."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith("/"):
            self.send(line)
            return True
        command, _, argument = line.partition(" ")
        argument = argument.strip()
        if command in ("/quit", "/exit", "/q"):
            return False
        if command == "/new":
            self.thread_id = None
            self._print("· the next message starts a new thread")
        elif command == "/threads":
            self.list_threads()
        elif command == "/resume":
            if not argument:
                raise ChatError("usage: /resume <thread id> (see /threads)")
            self.resume(argument)
        elif command == "/tasks":
            status = argument or "all"
            if status not in ("all", "pending", "completed"):
                raise ChatError("usage: /tasks [all|pending|completed]")
            self.list_tasks(status)
        elif command == "/help":
            self._print(HELP)
        else:
            raise ChatError(f"unknown command {command}; /help lists the commands")
        return True


def cognito_token(
    *,
    user_pool_id: str,
    client_id: str,
    username: str,
    password: str,
    client_secret: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    use: str = "id",
) -> str:
    """Sign in with Cognito's ``USER_PASSWORD_AUTH`` flow and return the ID or access token (``use``)."""
    import boto3

    region = region or user_pool_id.split("_", 1)[0]
    client = boto3.client("cognito-idp", region_name=region, endpoint_url=endpoint_url)
    parameters = {"USERNAME": username, "PASSWORD": password}
    if client_secret:
        digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
        parameters["SECRET_HASH"] = base64.b64encode(digest).decode()
    try:
        result = client.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH", ClientId=client_id, AuthParameters=parameters
        )
    except client.exceptions.NotAuthorizedException as exc:
        raise ChatError(f"Cognito refused the sign-in: {exc.response['Error'].get('Message')}") from None
    if "AuthenticationResult" not in result:
        challenge = result.get("ChallengeName", "unknown")
        raise ChatError(
            f"Cognito asks for a {challenge} challenge first; complete it (e.g. in the hosted UI)"
        )
    token: str = result["AuthenticationResult"]["IdToken" if use == "id" else "AccessToken"]
    return token


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="task-assistant-chat",
        description="Chat with the task assistant over the ChatKit protocol (local or deployed).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=HELP,
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"base URL of the app (default {DEFAULT_URL})")
    auth = parser.add_argument_group("authentication (default: --local-user dev)")
    auth.add_argument("--token", help="bearer token to send")
    auth.add_argument("--local-user", help="mint a token for this user with the local issuer's key")
    auth.add_argument("--data-dir", help="local data directory holding the issuer key (default .local-data)")
    auth.add_argument("--user-pool-id", help="Cognito user pool id (e.g. us-east-1_AbCdEf)")
    auth.add_argument("--client-id", help="Cognito app client id")
    auth.add_argument("--username", help="Cognito user name")
    auth.add_argument("--password", help="Cognito password")
    auth.add_argument("--client-secret", help="Cognito app client secret, if the client has one")
    auth.add_argument("--region", help="Cognito region (default: from the user pool id)")
    auth.add_argument("--cognito-endpoint-url", help=argparse.SUPPRESS)  # tests: moto's Cognito
    kind = auth.add_mutually_exclusive_group()
    kind.add_argument(
        "--access-token",
        action="store_true",
        help="send the access token (the default for Cognito: API Gateway's authorizer takes access tokens)",
    )
    kind.add_argument(
        "--id-token",
        action="store_true",
        help="send the ID token (the default for the local issuer; the function URL takes both)",
    )
    parser.add_argument("--thread", help="resume this thread before sending")
    parser.add_argument(
        "--message", "-m", action="append", default=[], help="send this (or run this /command); repeatable"
    )
    return parser


def _token(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    cognito = [args.user_pool_id, args.client_id, args.username, args.password]
    if args.token:
        return str(args.token)
    if any(cognito):
        if not all(cognito):
            parser.error("Cognito sign-in needs --user-pool-id, --client-id, --username and --password")
        return cognito_token(
            user_pool_id=args.user_pool_id,
            client_id=args.client_id,
            username=args.username,
            password=args.password,
            client_secret=args.client_secret,
            region=args.region,
            endpoint_url=args.cognito_endpoint_url,
            use="id" if args.id_token else "access",
        )
    from task_assistant.local.token_issuer import LocalIssuer, check_user_name, default_data_dir

    user = args.local_user or "dev"
    try:
        check_user_name(user)
    except ValueError as exc:
        parser.error(str(exc))
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    return LocalIssuer.load_or_create(data_dir).mint(user, use="access" if args.access_token else "id")


# Scripted (--message) and interactive mode share one client, its error reporting and its cleanup.
def main(argv: Sequence[str] | None = None) -> int:  # noqa: C901, PLR0912
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        token = _token(args, parser)
    except ChatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    client = ChatClient(args.url, token)
    failed = False
    try:
        if args.thread:
            client.resume(args.thread)
        if args.message:
            for line in args.message:
                if not line.startswith("/"):
                    client._print(f"you> {line}")
                try:
                    if not client.handle(line):
                        break
                except (ChatError, httpx.HTTPError) as exc:
                    failed = True
                    print(f"error: {exc}", file=sys.stderr)
            return 1 if failed else 0
        client._print(f"Connected to {args.url}. /help lists the commands.")
        while True:
            try:
                line = input("you> ")
            except (EOFError, KeyboardInterrupt):
                client._print()
                return 0
            try:
                if not client.handle(line):
                    return 0
            except (ChatError, httpx.HTTPError) as exc:
                print(f"error: {exc}", file=sys.stderr)
            except KeyboardInterrupt:  # stop this answer, keep the session
                client._print("\n· interrupted")
    except (ChatError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    raise SystemExit(main())

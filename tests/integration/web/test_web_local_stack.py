"""The local stack as a user runs it: `task-assistant-dev` (what `make dev` runs) in its own process,
`task-assistant-token` minting a token while it runs, the terminal client holding a conversation that
adds, lists and completes tasks, and the data surviving a restart. Also the client's Cognito sign-in
against moto's Cognito (real RS256 Cognito-shaped ID and access tokens)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import jwt
import pytest

from support.web import chatkit_factory, serve
from task_assistant.local import client as chat_client
from task_assistant.local.embedded import EmbeddedAWS, free_port
from task_assistant.settings import Settings
from task_assistant.web.app import create_app
from task_assistant.web.services import Services


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "JWT_", "JWKS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class DevServer:
    """`python -m task_assistant.local.dev` on a free port with its own data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = data_dir.parent / f"dev-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DevServer:
        args = ["--port", str(self.port), "--data-dir", str(self.data_dir), "--snapshot-seconds", "1"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "task_assistant.local.dev", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(),
            )
        with httpx.Client(timeout=2) as client:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise RuntimeError(f"dev server exited:\n{self.log.read_text()[-3000:]}")
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.1)  # another process: poll its health endpoint until it answers
        raise RuntimeError("dev server did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn stops, the final snapshot is written
        self.process.wait(timeout=60)

    @property
    def output(self) -> str:
        return self.log.read_text()


def run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )


def test_dev_stack_token_terminal_client_and_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with DevServer(data) as dev:
        assert "export TOKEN=" in dev.output and "offline model" in dev.output
        # The page comes first in the banner, and works: served, and signed in by the local-only route.
        first = next(line for line in dev.output.splitlines() if line.startswith("  "))
        assert first.split() == ["Open", f"{dev.url}/", *first.split()[2:]]
        assert httpx.get(f"{dev.url}/").headers["content-type"].startswith("text/html")
        page_token = httpx.get(f"{dev.url}/local/token", params={"user": "alice"}).json()["token"]
        assert (
            httpx.get(f"{dev.url}/tasks", headers={"Authorization": f"Bearer {page_token}"}).status_code
            == 200
        )
        token = run("task_assistant.local.token_issuer", "alice", "--data-dir", str(data))
        assert token.returncode == 0
        assert httpx.get(
            f"{dev.url}/tasks", headers={"Authorization": f"Bearer {token.stdout.strip()}"}
        ).json() == {
            "tasks": [],
            "next_cursor": None,
        }
        chat = run(
            "task_assistant.local.client",
            "--url", dev.url, "--local-user", "alice", "--data-dir", str(data),
            "-m", "add buy milk",
            "-m", "remind me to call mom",
            "-m", "/tasks",
            "-m", "mark buy milk as done",
            "-m", "/tasks",
            "-m", "/threads",
        )  # fmt: skip
        assert chat.returncode == 0, chat.stderr
        out = chat.stdout
        assert "Added “buy milk”" in out and "Added “call mom”" in out
        assert "[ ] buy milk" in out  # listed before completing
        assert "Marked “buy milk” as done" in out
        assert "· Adding “buy milk”…" in out and "✓ Added “buy milk”" in out  # what the tool did, live
        assert "[x] buy milk" in out and "[ ] call mom" in out  # listed after
        thread_id = out.split("· thread ", 1)[1].split()[0]
        assert thread_id in out.rsplit("[x] buy milk", 1)[1]  # /threads lists the conversation

        # Interactive mode, as `make chat` runs it (commands and messages typed on stdin).
        typed = subprocess.run(
            [sys.executable, "-m", "task_assistant.local.client", "--url", dev.url, "--data-dir", str(data)],
            input="/tasks\nadd water the plants\n/threads\n/quit\n",
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=False,
        )
        assert typed.returncode == 0, typed.stderr
        assert "no tasks" in typed.stdout  # user "dev" (the default) has none yet
        assert "Added “water the plants”" in typed.stdout

    # Restarted with the same data directory: the thread and the tasks are still there.
    with DevServer(data) as dev:
        assert "restored" in dev.output and "restored 0 items" not in dev.output
        again = run(
            "task_assistant.local.client",
            "--url", dev.url, "--local-user", "alice", "--data-dir", str(data),
            "--thread", thread_id, "-m", "/tasks completed", "-m", "what's left",
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "you> add buy milk" in again.stdout  # history printed on resume
        assert "✓ Completed “buy milk”" in again.stdout  # with what the tools did
        assert "[x] buy milk" in again.stdout
        assert "call mom" in again.stdout.rsplit("you> what's left", 1)[1]


def test_client_reports_errors_and_exit_status(tmp_path: Path) -> None:
    result = run("task_assistant.local.client", "--url", "http://127.0.0.1:9", "--token", "x", "-m", "hello")
    assert result.returncode == 1 and "error:" in result.stderr


@pytest.fixture(scope="module")
def cognito(embedded_aws: EmbeddedAWS) -> dict[str, str]:
    idp = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=embedded_aws.endpoint_url)
    pool = idp.create_user_pool(PoolName="task-assistant-test")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="carol", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="carol", Password="Corr3ct-Horse!", Permanent=True)
    return {"pool": pool, "client": client_id, "endpoint": embedded_aws.endpoint_url}


@pytest.fixture(scope="module")
def cognito_app_url(web_settings: Settings, cognito: dict[str, str]) -> Iterator[str]:
    """The app trusting moto's Cognito pool exactly as it would trust a real one."""
    settings = web_settings.model_copy(
        update={
            "jwt_issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{cognito['pool']}",
            "jwks_url": f"{cognito['endpoint']}/{cognito['pool']}/.well-known/jwks.json",
            "jwt_client_ids": [cognito["client"]],
        }
    )
    services = Services(settings, chatkit_factory=chatkit_factory())
    with serve(create_app(settings, door="function_url", services=services)) as url:
        yield url


@pytest.mark.parametrize("access", [False, True])
def test_client_signs_in_with_cognito(
    access: bool, cognito: dict[str, str], cognito_app_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--url", cognito_app_url,
        "--user-pool-id", cognito["pool"], "--client-id", cognito["client"],
        "--username", "carol", "--password", "Corr3ct-Horse!",
        "--cognito-endpoint-url", cognito["endpoint"],
        "-m", "add file the taxes", "-m", "/tasks",
    ]  # fmt: skip
    args.append("--access-token" if access else "--id-token")
    assert chat_client.main(args) == 0
    out = capsys.readouterr().out
    assert "Added “file the taxes”" in out and "[ ] file the taxes" in out


def test_client_sends_the_cognito_access_token_by_default(cognito: dict[str, str]) -> None:
    """What API Gateway's authorizer takes (it refuses ID tokens); the function URL takes both."""
    args = [
        "--user-pool-id", cognito["pool"], "--client-id", cognito["client"],
        "--username", "carol", "--password", "Corr3ct-Horse!",
        "--cognito-endpoint-url", cognito["endpoint"],
    ]  # fmt: skip
    parser = chat_client._parser()
    token = chat_client._token(parser.parse_args(args), parser)
    assert jwt.decode(token, options={"verify_signature": False})["token_use"] == "access"
    token = chat_client._token(parser.parse_args([*args, "--id-token"]), parser)
    assert jwt.decode(token, options={"verify_signature": False})["token_use"] == "id"


def test_client_cognito_wrong_password(cognito: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--user-pool-id", cognito["pool"], "--client-id", cognito["client"],
        "--username", "carol", "--password", "wrong",
        "--cognito-endpoint-url", cognito["endpoint"], "-m", "hi",
    ]  # fmt: skip
    assert chat_client.main(args) == 1
    assert "Cognito refused the sign-in" in capsys.readouterr().err

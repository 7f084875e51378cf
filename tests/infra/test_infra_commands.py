"""The README's commands on a machine where ``uv`` is not on PATH (absent, or installed where PATH does not
reach), run exactly as a user types them: ``make``, the CDK app command from ``cdk.json``, the layer
build. Each runs with :func:`path_without_uv`; the uv they use comes from ``scripts/uv``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from support.infra import REPO_ROOT, env_without_uv, path_without_uv
from task_assistant.local.embedded import free_port

pytestmark = pytest.mark.timeout(600)

MAKE = shutil.which("make")


def _make(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    assert MAKE, "GNU make is required for the README's commands"
    return subprocess.run(  # type: ignore[call-overload]
        [MAKE, "--no-print-directory", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, **kwargs
    )  # fmt: skip


def test_path_really_lacks_uv() -> None:
    """Guards the tests below: with their PATH, no ``uv`` can be found."""
    assert shutil.which("uv", path=path_without_uv()) is None


def test_scripts_uv_installs_a_project_local_uv_with_the_system_python(tmp_path: Path) -> None:
    """On a brand-new machine (empty HOME, system PATH, possibly an externally-managed Python) the
    launcher installs the pinned uv under the project's ``.tools/`` and runs it."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "scripts" / "uv", project / "scripts" / "uv")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": path_without_uv(), "LANG": "C.UTF-8"}
    result = subprocess.run(
        [str(project / "scripts" / "uv"), "--version"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pinned = next(
        line.split("=", 1)[1]
        for line in (REPO_ROOT / "scripts" / "uv").read_text().splitlines()
        if line.startswith("UV_VERSION=")
    )
    assert result.stdout.split()[:2] == ["uv", pinned]
    installed = [p for p in (project / ".tools").rglob("uv") if p.is_file() and os.access(p, os.X_OK)]
    assert installed, "uv was not installed under the project's .tools/"
    assert not (home / ".local" / "bin" / "uv").exists(), "installed into HOME, not the project"


def test_cdk_app_command_runs_without_uv_on_path(tmp_path: Path) -> None:
    """``cdk.json``'s app command (what ``npx cdk synth`` runs) reaches the project's Python without PATH's
    help: with no ``-c env`` it answers with the environment list, which only the real app prints."""
    app = json.loads((REPO_ROOT / "cdk.json").read_text())["app"]
    result = subprocess.run(
        app, shell=True, cwd=REPO_ROOT, env=env_without_uv(CDK_OUTDIR=str(tmp_path)),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "-c env=<name>" in result.stderr and "prod" in result.stderr


def test_layer_requirements_export_without_uv_on_path() -> None:
    """The layer build exports its requirements through ``scripts/uv``; the committed file is current."""
    requirements = REPO_ROOT / "layers" / "requirements.txt"
    before = requirements.read_text()
    result = subprocess.run(
        [sys.executable, "layers/build.py", "--export-only"],
        cwd=REPO_ROOT, env=env_without_uv(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert requirements.read_text() == before, "layers/requirements.txt is stale: run make layer"


def test_make_token_prints_the_token_only(tmp_path: Path) -> None:
    """``TOKEN=$(make token USER_NAME=alice)`` captures one line: a JWT for alice."""
    result = _make("token", "USER_NAME=alice", env=env_without_uv(LOCAL_DATA_DIR=str(tmp_path)), timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    claims = jwt.decode(lines[0], options={"verify_signature": False})
    assert claims["sub"] == "alice" and claims["token_use"] == "id"


def test_make_dev_takes_a_port_and_make_chat_follows_it(tmp_path: Path) -> None:
    """``make dev PORT=…`` serves on that port, its banner points ``make chat`` there, and ``make chat
    PORT=…`` holds a conversation with it."""
    port = free_port()
    env = env_without_uv(LOCAL_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    env = {k: v for k, v in env.items() if not k.startswith(("OPENAI_", "JWT_", "JWKS_"))}
    log = tmp_path / "dev.log"
    assert MAKE
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [MAKE, "--no-print-directory", "dev", f"PORT={port}"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert dev.poll() is None, f"make dev exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)  # another process: poll until it listens
        else:
            pytest.fail(f"make dev PORT={port} did not answer:\n{log.read_text()[-3000:]}")
        assert f"make chat PORT={port}" in log.read_text()
        chat = _make(
            "chat", f"PORT={port}", env=env, input="add water the plants\n/tasks\n/quit\n", timeout=240
        )
        assert chat.returncode == 0, chat.stderr
        assert "Added “water the plants”" in chat.stdout and "[ ] water the plants" in chat.stdout
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C to the whole group, as a terminal would
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)

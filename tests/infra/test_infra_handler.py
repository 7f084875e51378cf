"""functions/run.sh, the streaming function's handler, started the way the Lambda Web Adapter does.

LWA cannot run here (no registry serves it), but its contract is simple: it runs the
handler script with ``PORT`` and ``LAMBDA_TASK_ROOT`` set and polls the readiness path
until the app answers. This test does exactly that against the real script.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.infra import REPO_ROOT

pytestmark = pytest.mark.timeout(120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_sh_serves_health_on_port_from_the_environment(tmp_path: Path) -> None:
    script = REPO_ROOT / "functions" / "run.sh"
    assert os.access(script, os.X_OK), "run.sh must be executable (Lambda runs it directly)"
    port = _free_port()
    env = {
        # python3 must resolve to an interpreter that has the dependencies, like /var/lang/bin on Lambda
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PORT": str(port),
        "LAMBDA_TASK_ROOT": str(REPO_ROOT / "functions"),
        "LOG_LEVEL": "WARNING",
        "ENVIRONMENT": "handler-test",
    }
    proc = subprocess.Popen([str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:  # LWA's readiness check: poll until the app answers
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "run.sh exited"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, "the app never answered /health"
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["environment"] == "handler-test"
        assert "server" not in response.headers  # --no-server-header
    finally:
        proc.terminate()
        proc.wait(timeout=20)

"""Importing the entry points and answering /health must not load the agent stack (cold starts)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import asyncio, json, sys
import httpx
import {module} as entry

async def health():
    transport = httpx.ASGITransport(app=entry.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.get("/health")).status_code

status = asyncio.run(health())
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & {{"agents", "openai", "mcp", "chatkit"}})
print(json.dumps({{"status": status, "heavy": heavy}}))
"""


@pytest.mark.parametrize("module", ["task_assistant.entry.streaming", "task_assistant.entry.api"])
def test_entry_point_and_health_stay_light(module: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"status": 200, "heavy": []}

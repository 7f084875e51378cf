"""The one CORS policy: what it must cover, and that the CDK app can import it (and the page's public
paths) for free."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from task_assistant.web import cors
from task_assistant.web.middleware import REQUEST_ID_HEADER

# Every header the ChatKit web component sends (chatkit 1.6.5 era), plus what the page's fetch wrapper adds.
WIDGET_HEADERS = {
    "authorization",
    "content-type",
    "accept",
    "accept-language",
    "chatkit-device-id",
    "chatkit-frame-instance-id",
}


def test_allowed_headers_cover_the_web_component_and_our_own_headers() -> None:
    allowed = {h.lower() for h in cors.ALLOW_HEADERS}
    assert allowed >= WIDGET_HEADERS | {"if-match", "x-request-id"}
    assert len(allowed) == len(cors.ALLOW_HEADERS), "a header is listed twice"


def test_scripts_can_read_the_request_id_and_retry_after() -> None:
    exposed = {h.lower() for h in cors.EXPOSE_HEADERS}
    assert {REQUEST_ID_HEADER.lower(), "retry-after", "www-authenticate", "etag", "location"} <= exposed


@pytest.mark.parametrize("module", ["cors", "page_paths"])
def test_importing_what_the_cdk_app_reads_loads_nothing_else(module: str) -> None:
    probe = (
        f"import sys; before = set(sys.modules); import task_assistant.web.{module}; "
        "loaded = sorted(set(sys.modules) - before); import json; print(json.dumps(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    ours = {"task_assistant", "task_assistant.web", f"task_assistant.web.{module}"}
    # Standard library only (the interpreter's own bookkeeping), never a third-party package.
    assert {m.split(".")[0] for m in loaded if m not in ours} <= set(sys.stdlib_module_names), loaded

"""Streaming entry point: ``uvicorn task_assistant.entry.streaming:app``.

In AWS this runs behind the Lambda Web Adapter (``functions/run.sh`` execs uvicorn on ``$PORT``) on a
function URL with ``RESPONSE_STREAM``; the same module serves the app locally. This is the
``function_url`` door: every authenticated route verifies the bearer JWT itself.

Import stays light (no agent stack): the ChatKit server is built on the first ``/chatkit`` request, or,
under SnapStart, by the adapter's before-checkpoint hook (:mod:`task_assistant.web.snapstart_routes`,
served only when the stack sets the hook paths).
"""

from __future__ import annotations

from task_assistant.log import logger
from task_assistant.settings import get_settings
from task_assistant.web.app import create_app
from task_assistant.web.snapstart_routes import install_snapstart_hooks

settings = get_settings()
logger.setLevel(settings.log_level.upper())

app = create_app(settings, door="function_url")
install_snapstart_hooks(app, settings)

"""The application's one logger (Powertools: JSON lines, Lambda context, per-request keys).

Every layer logs through :data:`logger`; the entry points set its level and attach the Lambda context.
Request id and user id are attached per request with ``thread_safe_append_keys`` (a context variable, so
concurrent requests never mix their keys). It writes to stdout, like any Lambda function; in the
``task-assistant-mcp`` stdio server the MCP SDK diverts stdout to stderr while it serves, so log lines
never enter the protocol.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

SERVICE_NAME = "task-assistant"

logger = Logger(service=SERVICE_NAME)

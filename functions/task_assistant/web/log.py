"""The web layer's structured logger (Powertools: JSON lines, Lambda context, per-request keys)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

SERVICE_NAME = "task-assistant"

# One Powertools logger for the HTTP layer; request id and user id are attached per request with
# ``thread_safe_append_keys`` (a context variable, so concurrent requests never mix their keys).
logger = Logger(service=SERVICE_NAME)

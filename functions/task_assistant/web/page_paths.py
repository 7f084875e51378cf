"""Where the page to try the assistant lives: the only routes of the app that answer without a token.

Read by :mod:`task_assistant.web.page` (the routes) and by the CDK app (API Gateway methods without an
authorizer), so the two cannot drift apart. Imports nothing, like :mod:`task_assistant.web.cors`.
"""

from __future__ import annotations

PAGE_PATH = "/"
CONFIG_PATH = "/web/config.json"

ASSETS: dict[str, str] = {"page.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}
"""Files of ``static/`` served under ``/web/`` (name -> media type); nothing else there is reachable."""

PUBLIC_PATHS: tuple[str, ...] = (PAGE_PATH, CONFIG_PATH, *(f"/web/{name}" for name in ASSETS))
"""Every path of the page (all ``GET``, no token)."""

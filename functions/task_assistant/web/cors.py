"""The one CORS policy of both doors: what a browser may send and read.

The app's CORS middleware (function-URL door) and API Gateway's preflight answers (``cdk/``) both read
these constants, so the two doors cannot drift apart. This module imports nothing (the CDK app imports
it at synth time).

Request headers, and who sends them:

- ``Authorization``: the bearer token, added by the page's ``fetch`` wrapper (``api.fetch`` of the
  ChatKit web component) and by every other client.
- ``Content-Type`` (``application/json`` is not a CORS-safelisted value), ``Accept``
  (``text/event-stream``), ``Accept-Language``: sent by the ChatKit web component on every request.
- ``ChatKit-Device-Id``, ``ChatKit-Frame-Instance-Id``: the web component's own headers; a preflight
  that does not allow them fails in every browser ("Request header field chatkit-frame-instance-id is
  not allowed by Access-Control-Allow-Headers").
- ``If-Match``: conditional task updates (``PATCH /tasks/{id}``).
- ``X-Request-Id``: clients that correlate their own logs with ours may send one.
"""

from __future__ import annotations

ALLOW_HEADERS: tuple[str, ...] = (
    "Authorization",
    "Content-Type",
    "Accept",
    "Accept-Language",
    "ChatKit-Device-Id",
    "ChatKit-Frame-Instance-Id",
    "If-Match",
    "X-Request-Id",
)
"""Request headers a browser may send from an allowed origin (case does not matter to browsers)."""

EXPOSE_HEADERS: tuple[str, ...] = ("ETag", "Location", "Retry-After", "WWW-Authenticate", "X-Request-Id")
"""Response headers page scripts may read (the rest of a cross-origin response's headers are hidden)."""

ALLOW_METHODS: tuple[str, ...] = ("GET", "POST", "PATCH", "DELETE", "OPTIONS")
"""Every method a route of the app answers, plus the preflight itself."""

MAX_AGE_SECONDS = 600
"""How long a browser may reuse a preflight answer (short, so a changed list reaches browsers soon)."""

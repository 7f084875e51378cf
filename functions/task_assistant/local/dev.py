"""``make dev`` / ``task-assistant-dev``: the whole stack on this machine, no AWS account, no API key.

Starts, all on loopback:

- embedded DynamoDB and S3 (moto's server) with the project's tables and bucket;
- the local token issuer's JWKS, trusted by the app through the same settings as Cognito
  (``JWT_ISSUER``, ``JWKS_URL``, ``JWT_CLIENT_IDS``);
- the app under uvicorn (the function-URL door, exactly as in Lambda) on ``127.0.0.1:8000``, with the
  page to try it at ``/`` signing in through the local-only ``/local/token`` route.

The model is the offline model unless ``OPENAI_API_KEY`` (or ``OPENAI_BASE_URL``) is set. Data lives in
``--data-dir`` (default ``LOCAL_DATA_DIR`` or ``.local-data``): restored on start, snapshotted every few
seconds and on exit. ``--in-memory`` keeps data in memory only (gone on exit). The issuer's key is
always kept in the data directory, so ``task-assistant-token`` can mint tokens while this runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.local.persistence import Snapshotter
from task_assistant.local.token_issuer import LocalIssuer, check_user_name
from task_assistant.local.web_sign_in import LOCAL_TOKEN_PATH, install_local_sign_in
from task_assistant.settings import Settings, get_settings

DEFAULT_PORT = 8000  # not 8080: `sam local` takes that one
DEFAULT_CORS = ["http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:3000"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def local_settings(base: Settings, aws: EmbeddedAWS, issuer: LocalIssuer, jwks_url: str) -> Settings:
    """``base`` (the environment) with storage on ``aws`` and auth trusting ``issuer``."""
    return aws.settings(
        environment="local",
        jwt_issuer=issuer.issuer,
        jwks_url=jwks_url,
        jwt_client_ids=[issuer.client_id],
        cors_origins=base.cors_origins or DEFAULT_CORS,
    )


def describe_model(settings: Settings) -> str:
    try:
        from task_assistant.agent.models import choose_model

        return choose_model(settings).describe()
    except Exception as exc:  # the banner must not stop the server
        return f"(could not describe the model: {exc})"


def banner(
    *,
    url: str,
    port: int,
    settings: Settings,
    aws: EmbeddedAWS,
    jwks_url: str,
    user: str,
    token: str,
    data: str,
) -> str:
    create = {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": "add buy milk"}],
                "quoted_text": "",
                "attachments": [],
                "inference_options": {},
            }
        },
    }
    body = shlex.quote(json.dumps(create, separators=(",", ":")))
    return f"""
Task assistant (local) is running.

  Open       {url}/   (the chat page, signed in as "{user}"; {url}/?user=alice for another user)

  App        {url}   (ChatKit: {url}/chatkit, tasks: {url}/tasks, API docs: {url}/docs)
  Model      {describe_model(settings)}
  Storage    embedded DynamoDB + S3 at {aws.endpoint_url}; {data}
  Auth       local issuer, JWKS {jwks_url}, client id {settings.jwt_client_ids[0]};
             the page's tokens come from {url}{LOCAL_TOKEN_PATH} (local mode only)

A token for user "{user}" (valid 12 hours):

  export TOKEN={token}

More tokens, for any user (works while this runs):
  make token USER_NAME=alice

Try:
  curl -s {url}/health
  curl -s -H "Authorization: Bearer $TOKEN" {url}/tasks
  curl -sN -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' {url}/chatkit -d {body}
  make chat PORT={port} USER_NAME={user}

Ctrl-C stops the server{" and saves a final snapshot" if "snapshot" in data else ""}.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="task-assistant-dev", description="Run the task assistant locally (embedded AWS, local issuer)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"app port (default {DEFAULT_PORT})")
    parser.add_argument("--aws-port", type=int, default=0, help="embedded AWS port (default: any free port)")
    parser.add_argument("--data-dir", help="data directory (default: LOCAL_DATA_DIR or .local-data)")
    parser.add_argument("--in-memory", action="store_true", help="keep data in memory only (lost on exit)")
    parser.add_argument("--user", default="dev", help="user to print a token for (default: dev)")
    parser.add_argument("--snapshot-seconds", type=float, default=5.0, help="snapshot interval (default 5)")
    args = parser.parse_args(argv)
    try:
        check_user_name(args.user)
    except ValueError as exc:
        parser.error(str(exc))
    if not _port_free(args.host, args.port):
        parser.error(f"port {args.port} on {args.host} is in use; pick another with --port")

    base = get_settings()
    data_dir = Path(args.data_dir or base.local_data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    issuer = LocalIssuer.load_or_create(data_dir)

    import uvicorn

    from task_assistant.web.app import create_app

    aws = EmbeddedAWS(port=args.aws_port or None, prefix="local").start()
    jwks = issuer.serve_jwks()
    snapshots: Snapshotter | None = None
    try:
        settings = local_settings(base, aws, issuer, jwks.url)
        if args.in_memory:
            data = f"data in memory only (--in-memory): lost on exit; issuer key in {data_dir}"
        else:
            snapshots = Snapshotter(settings, data_dir / "aws")
            restored = snapshots.restore()
            snapshots.start(args.snapshot_seconds)
            data = (
                f"data kept in {data_dir} (restored {restored.items} items, {restored.objects} objects; "
                f"snapshot every {args.snapshot_seconds:g} s and on exit)"
            )
        app = create_app(settings, door="function_url")
        install_local_sign_in(app, issuer, default_user=args.user)
        url = f"http://{args.host}:{args.port}"
        token = issuer.mint(args.user)
        print(
            banner(
                url=url,
                port=args.port,
                settings=settings,
                aws=aws,
                jwks_url=jwks.url,
                user=args.user,
                token=token,
                data=data,
            )
        )
        sys.stdout.flush()
        uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info")).run()
    finally:
        if snapshots is not None:
            snapshots.stop()
            print(f"[local] data saved in {data_dir}", flush=True)
        jwks.stop()
        aws.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/bin/bash
# Lambda handler of the streaming function (see cdk/task_assistant_cdk/functions.py).
#
# The Lambda Web Adapter layer (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) starts this script,
# waits until GET /health answers on $PORT, then turns each invocation into an HTTP request
# and streams the response back (AWS_LWA_INVOKE_MODE=response_stream).
#
# - /opt/python is the dependencies layer; the managed runtime adds it to sys.path only for
#   its own bootstrap, not for a process started by a wrapper script, so it goes on
#   PYTHONPATH here, after the function code in $LAMBDA_TASK_ROOT.
# - Loopback only: the adapter is the one client.
# - One worker, no reload: a Lambda sandbox handles one request at a time.
# - Port 8000 by default, never 8080 (`sam local` uses 8080).
set -euo pipefail
export PYTHONPATH="${LAMBDA_TASK_ROOT:-$(dirname "$0")}:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
exec python3 -m uvicorn task_assistant.entry.streaming:app \
  --host 127.0.0.1 \
  --port "${PORT:-8000}" \
  --workers 1 \
  --no-server-header \
  --log-level "$(echo "${LOG_LEVEL:-info}" | tr '[:upper:]' '[:lower:]')"

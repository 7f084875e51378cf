#!/usr/bin/env python3
"""CDK app entry: ``cdk synth -c env=dev|staging|prod`` (see cdk/task_assistant_cdk/config.py).

Synthesis stops with ``error: ...`` and exit status 1, before any template is written, on an unknown or
fixed context key, an invalid override, a missing or stale dependencies layer, or a region without a
known Lambda Web Adapter layer.
"""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from task_assistant_cdk.config import OVERRIDABLE, ConfigError, check_context_keys, load_config
from task_assistant_cdk.stack import TaskAssistantStack


def build_app(app: App | None = None) -> tuple[App, TaskAssistantStack]:
    """The app with the configured environment's stack and the cdk-nag AwsSolutions checks."""
    app = app or App()
    check_context_keys(app.node.get_all_context())
    config = load_config(app.node.try_get_context("env"), _context(app))
    # The CLI sets these from the current credentials; without them (CI, offline) the
    # template is environment-agnostic and the region resolves at deploy time.
    account = os.environ.get("CDK_DEFAULT_ACCOUNT") or None
    region = os.environ.get("CDK_DEFAULT_REGION") or None
    env = Environment(account=account, region=region) if account or region else None
    stack = TaskAssistantStack(app, config.stack_name, config=config, env=env)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def _context(app: App) -> dict[str, object]:
    """The ``-c <field>=<value>`` overrides of config fields (CDK's own context is left out)."""
    values = {key: app.node.try_get_context(key) for key in OVERRIDABLE}
    return {key: value for key, value in values.items() if value is not None}


def main(app: App | None = None) -> int:
    """Synthesize, or print ``error: <what to do>`` and return 1 (``app``: for tests)."""
    try:
        app, _ = build_app(app)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the infrastructure tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_DIR = REPO_ROOT / "cdk"
if str(CDK_DIR) not in sys.path:  # the CDK app package lives in cdk/, outside the wheel
    sys.path.insert(0, str(CDK_DIR))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Synthesize environment-agnostic templates, whatever AWS environment the shell has selected.
for _name in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
    os.environ.pop(_name, None)

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402


@dataclass
class Synthesized:
    """One synthesized environment: the stack, its template (dict and assertion helper)."""

    env: str
    stack: Any
    template: Template
    raw: dict[str, Any]
    outdir: Path

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == type_}

    def one(self, type_: str) -> dict[str, Any]:
        found = self.resources(type_)
        assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
        return next(iter(found.values()))

    def logical_id(self, construct: Any) -> str:
        # resolve() honours override_logical_id (get_logical_id would not)
        return str(self.stack.resolve(construct.node.default_child.logical_id))


def load_cdk_app_module() -> Any:
    """``cdk/app.py`` as a module (under a unique name: ``app`` is too common a name)."""
    name = "task_assistant_cdk_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CDK_DIR / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` of ``cdk.json`` (feature flags): what the CLI hands the app on every synth."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def synth_app(context: dict[str, Any], outdir: Path) -> tuple[App, Any]:
    """Build the real app (with cdk-nag) from ``cdk/app.py`` for ``context``, on top of cdk.json's."""
    return load_cdk_app_module().build_app(App(context={**cdk_json_context(), **context}, outdir=str(outdir)))


def path_without_uv() -> str:
    """``PATH`` minus every directory holding a ``uv`` executable and this virtualenv's ``bin``.

    What a user's shell has on a machine where uv was never installed, or was installed somewhere
    PATH does not reach: the project's commands must still work there.
    """
    venv_bin = str(Path(sys.executable).parent)
    kept = [
        d
        for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if d and d != venv_bin and not os.access(os.path.join(d, "uv"), os.X_OK)
    ]
    return os.pathsep.join(kept or ["/usr/bin", "/bin"])


def env_without_uv(**extra: str) -> dict[str, str]:
    """The test's environment with ``PATH`` from :func:`path_without_uv` and no virtualenv markers."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_BIN")}
    env["PATH"] = path_without_uv()
    env.update(extra)
    return env

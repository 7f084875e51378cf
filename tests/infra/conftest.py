"""Fixtures for the infrastructure tests: each environment is synthesized once per session.

The dependencies layer is not built for these tests: ``layer_dir`` points at a tiny
placeholder directory, so synthesis needs neither the network nor Docker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from support.infra import Synthesized, synth_app


@pytest.fixture(scope="session")
def placeholder_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for ``layers/build/<arch>``: the same shape, one tiny file."""
    root = tmp_path_factory.mktemp("layer")
    (root / "python").mkdir()
    (root / "python" / "placeholder.py").write_text("# stands in for the dependencies layer in tests\n")
    return root


@pytest.fixture(scope="session")
def synthesize(
    placeholder_layer: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Synthesized]]:
    """``synthesize(env, **overrides)``: synthesized once per distinct argument set."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Synthesized] = {}

    def get(env: str, **overrides: Any) -> Synthesized:
        key = (env, tuple(sorted(overrides.items())))
        if key not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk-{env}")
            context = {"env": env, "layer_dir": str(placeholder_layer), **overrides}
            app, stack = synth_app(context, outdir)
            app.synth()
            raw = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
            cache[key] = Synthesized(env, stack, Template.from_json(raw), raw, outdir)
        return cache[key]

    yield get


@pytest.fixture(scope="session")
def dev(synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod(synthesize: Callable[..., Synthesized]) -> Synthesized:
    return synthesize("prod", alarm_email="ops@example.com")

"""Synthesis refuses a dependencies layer that was not built from the current ``uv.lock``.

``layers/build.py`` records the lock's SHA-256 in ``layers/build/<arch>.stamp.json``; the stack compares
it (``task_assistant_cdk.layer``). These tests use small stand-in layers and locks (no wheels are built);
``test_infra_layer.py`` builds the real one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_cdk import App

from support.infra import REPO_ROOT
from task_assistant_cdk.layer import (
    StaleLayerError,
    check_layer_stamp,
    lock_sha256,
    resolve_layer_dir,
    stamp_path,
)


def _layer(root: Path, arch: str = "arm64", *, lock: bytes | None = None) -> Path:
    """``<root>/<arch>/python/`` with a stamp for ``lock`` (no stamp when ``lock`` is None)."""
    layer = root / arch
    (layer / "python").mkdir(parents=True)
    if lock is not None:
        stamp = {"arch": arch, "uv_lock_sha256": hashlib.sha256(lock).hexdigest()}
        stamp_path(layer).write_text(json.dumps(stamp))
    return layer


def test_the_stamp_sits_outside_the_asset_directory() -> None:
    layer = REPO_ROOT / "layers" / "build" / "arm64"
    assert stamp_path(layer) == REPO_ROOT / "layers" / "build" / "arm64.stamp.json"


def test_a_layer_built_from_the_current_lock_passes(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"version = 1\n")
    check_layer_stamp(_layer(tmp_path, lock=lock.read_bytes()), "arm64", required=True, lock=lock)


def test_a_lock_change_without_make_layer_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    layer = _layer(tmp_path, lock=b"version = 1\n# boto3 1.40\n")
    lock.write_bytes(b"version = 1\n# boto3 1.41\n")
    with pytest.raises(StaleLayerError, match=r"another uv\.lock.*make layer ARCH=arm64"):
        check_layer_stamp(layer, "arm64", required=True, lock=lock)


def test_a_layer_for_another_architecture_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"version = 1\n")
    layer = _layer(tmp_path, "x86_64", lock=lock.read_bytes())
    with pytest.raises(StaleLayerError, match="built for 'x86_64', not arm64"):
        check_layer_stamp(layer, "arm64", required=True, lock=lock)


def test_a_missing_stamp_fails_only_where_it_is_required(tmp_path: Path) -> None:
    layer = _layer(tmp_path)
    with pytest.raises(StaleLayerError, match="no build stamp"):
        check_layer_stamp(layer, "arm64", required=True)
    check_layer_stamp(layer, "arm64", required=False)  # an explicit -c layer_dir vouches for itself


def test_an_explicit_layer_dir_with_a_stale_stamp_is_refused_too(tmp_path: Path) -> None:
    layer = _layer(tmp_path, lock=b"some other lock")
    with pytest.raises(StaleLayerError, match=r"another uv\.lock"):
        resolve_layer_dir(App(context={"layer_dir": str(layer)}), "arm64")
    stamp_path(layer).unlink()
    assert resolve_layer_dir(App(context={"layer_dir": str(layer)}), "arm64") == layer


def test_the_default_layer_is_checked_against_the_repositorys_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``layers/build/<arch>`` with a stamp of another lock: synthesis stops (as after `uv lock`)."""
    import task_assistant_cdk.layer as layer_module

    monkeypatch.setattr(layer_module, "default_layer_dir", lambda arch: tmp_path / arch)
    monkeypatch.delenv(layer_module.LAYER_DIR_ENV, raising=False)
    _layer(tmp_path, lock=b"an older lock")
    with pytest.raises(StaleLayerError, match=r"another uv\.lock"):
        resolve_layer_dir(App(), "arm64")
    stamp_path(tmp_path / "arm64").write_text(json.dumps({"arch": "arm64", "uv_lock_sha256": lock_sha256()}))
    assert resolve_layer_dir(App(), "arm64") == tmp_path / "arm64"


def _build_module() -> ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location("layer_build_for_stamp", REPO_ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_restamps_without_reinstalling_when_only_the_lock_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock change that leaves the runtime requirements alone: the stamp moves, no wheel is fetched."""
    build = _build_module()
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"version = 1\n# dev dependency bumped\n")
    monkeypatch.setattr(build, "UV_LOCK", lock)
    monkeypatch.setattr(build, "BUILD", tmp_path / "build")
    monkeypatch.setattr(build, "REQUIREMENTS", tmp_path / "requirements.txt")
    monkeypatch.setattr(build, "export_requirements", lambda: "boto3==1.0\n")
    monkeypatch.setattr(build, "_find_python313", lambda: None)

    def no_install(*args: Any, **kwargs: Any) -> list[str]:
        raise AssertionError("the layer was reinstalled although its requirements did not change")

    layer = tmp_path / "build" / "arm64"
    (layer / "python").mkdir(parents=True)
    inputs = {
        "requirements_sha256": hashlib.sha256(b"boto3==1.0\n").hexdigest(),
        "arch": "arm64",
        "python": build.PYTHON_VERSION,
        "compiled": False,
        "exclude": [],
        "botocore_services": sorted(build.BOTOCORE_SERVICES),
        "package_test_dirs": sorted(build.PACKAGE_TEST_DIRS),
    }
    stamp = tmp_path / "build" / "arm64.stamp.json"
    stamp.write_text(json.dumps({**inputs, "uv_lock_sha256": "0" * 64}))
    monkeypatch.setattr(build, "install_command", no_install)
    assert build.build("arm64") == layer
    assert json.loads(stamp.read_text()) == {**inputs, "uv_lock_sha256": lock_sha256(lock)}
    check_layer_stamp(layer, "arm64", required=True, lock=lock)
    shutil.rmtree(layer)

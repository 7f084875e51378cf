"""Where the dependencies layer comes from, and the check that it was built from the current ``uv.lock``.

``layers/build.py`` writes ``layers/build/<arch>.stamp.json`` next to the layer it builds; the stamp
holds the SHA-256 of the ``uv.lock`` it was built from. Synthesis refuses the default layer
(``layers/build/<arch>``) when that stamp is missing or names another lock, so a lock change without
``make layer`` can never upload the old dependencies. ``make synth`` and ``make deploy`` rebuild it
first (a build whose requirements did not change only rewrites the stamp).

A layer directory given explicitly (``-c layer_dir=<dir>`` or ``TASK_ASSISTANT_LAYER_DIR``) is checked
the same way when a stamp sits next to it (``<dir>.stamp.json``); without one, whoever named the
directory vouches for it (the infrastructure tests synthesize with a one-file placeholder this way).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from constructs import Construct

from .config import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
UV_LOCK = REPO_ROOT / "uv.lock"

#: Context key / environment variable naming the built layer directory (``<dir>/python/...``).
LAYER_DIR_CONTEXT = "layer_dir"
LAYER_DIR_ENV = "TASK_ASSISTANT_LAYER_DIR"


class StaleLayerError(ConfigError):
    """The layer's build stamp is missing or does not match ``uv.lock``: it may ship other versions."""


def default_layer_dir(architecture: str) -> Path:
    return REPO_ROOT / "layers" / "build" / architecture


def stamp_path(layer_dir: Path) -> Path:
    """``layers/build/arm64`` -> ``layers/build/arm64.stamp.json`` (outside the asset directory)."""
    return layer_dir.with_name(f"{layer_dir.name}.stamp.json")


def lock_sha256(lock: Path = UV_LOCK) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def check_layer_stamp(layer_dir: Path, architecture: str, *, required: bool, lock: Path = UV_LOCK) -> None:
    """Raise :class:`StaleLayerError` unless the stamp next to ``layer_dir`` matches ``lock``.

    ``required``: a missing stamp is an error (the default layer); otherwise it skips the check.
    """
    rebuild = (
        f"Run `make layer ARCH={architecture}` (or: uv run python layers/build.py --arch {architecture})."
    )
    stamp = stamp_path(layer_dir)
    if not stamp.is_file():
        if required:  # built by an older layers/build.py, or copied by hand
            raise StaleLayerError(
                f"{layer_dir} has no build stamp ({stamp.name}): it cannot be matched to uv.lock. {rebuild}"
            )
        return
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError) as exc:
        raise StaleLayerError(f"{stamp} is unreadable ({exc}). {rebuild}") from None
    if not isinstance(recorded, dict) or recorded.get("uv_lock_sha256") != lock_sha256(lock):
        raise StaleLayerError(
            f"the dependencies layer {layer_dir} was built from another uv.lock than the current one, so it "
            f"may ship other versions than the tested ones. {rebuild}"
        )
    if recorded.get("arch") != architecture:
        built_for = recorded.get("arch")
        raise StaleLayerError(f"{layer_dir} was built for {built_for!r}, not {architecture}. {rebuild}")


def resolve_layer_dir(scope: Construct, architecture: str) -> Path:
    """The built dependencies-layer directory: context ``layer_dir``, env, or ``layers/build/<arch>``.

    Raises ``FileNotFoundError`` when it is not built and :class:`StaleLayerError` when its stamp does
    not match ``uv.lock`` (see the module docstring).
    """
    configured = scope.node.try_get_context(LAYER_DIR_CONTEXT) or os.environ.get(LAYER_DIR_ENV)
    path = Path(configured) if configured else default_layer_dir(architecture)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not (path / "python").is_dir():
        raise FileNotFoundError(
            f"dependencies layer not built: {path}/python is missing. Run `make layer` "
            f"(uv run python layers/build.py --arch {architecture}) or point -c {LAYER_DIR_CONTEXT}=<dir> "
            f"/ {LAYER_DIR_ENV} at a built layer."
        )
    check_layer_stamp(path, architecture, required=not configured)
    return path

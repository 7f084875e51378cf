"""The dependencies layer: built without Docker for Python 3.13 on arm64, from the locked versions.

The build downloads the arm64 wheels once (about 100 MB, cached by uv/pip and in
``layers/build/``); later runs only compare the stamp.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from infra_support import REPO_ROOT

pytestmark = pytest.mark.timeout(600)

ELF_MACHINE_AARCH64 = 183
ELF_MACHINE_X86_64 = 62


def _load_build() -> ModuleType:
    name = "task_assistant_layer_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "layers" / "build.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _requirements(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


@pytest.fixture(scope="module")
def build() -> ModuleType:
    return _load_build()


@pytest.fixture(scope="module")
def arm64_layer(build: ModuleType) -> Path:
    return build.build("arm64")


def test_committed_requirements_match_uv_lock(build: ModuleType) -> None:
    """layers/requirements.txt is exactly `uv export` of the lock (runtime deps only)."""
    committed = (REPO_ROOT / "layers" / "requirements.txt").read_text()
    assert committed == build.export_requirements(), "run: uv run python layers/build.py --export-only"
    pins = _requirements(committed)
    for runtime in ("openai-chatkit", "openai-agents", "mcp", "fastapi", "uvicorn", "mangum", "boto3"):
        assert runtime in pins, runtime
    for dev_or_cdk in ("moto", "pytest", "aws-cdk-lib", "cdk-nag", "cfn-lint", "ruff", "mypy"):
        assert dev_or_cdk not in pins, dev_or_cdk
    assert "task-assistant" not in pins  # the app ships as the function code asset, not in the layer


_IMPORT_PROBE = """
import importlib, importlib.metadata as md, json, pkgutil, sys
import task_assistant
for info in pkgutil.walk_packages(task_assistant.__path__, "task_assistant."):
    if not info.name.startswith("task_assistant.local"):  # developer tools, not deployed code paths
        importlib.import_module(info.name)
dists = md.packages_distributions()
used = {}
for name in list(sys.modules):
    top = name.split(".")[0]
    if top in sys.stdlib_module_names or top.startswith("_") or top == "task_assistant":
        continue
    for dist in dists.get(top, []):
        used[dist] = top
print(json.dumps(used))
"""

#: Imported only when present: httpx loads its optional CLI extras (click, pygments, rich)
#: inside ``try/except ImportError``; the layer does not ship them and httpx works without.
OPTIONAL_IMPORTS = {"pygments", "rich"}


def test_layer_requirements_cover_every_import_of_the_deployed_code() -> None:
    """Every third-party distribution the app's modules import is in the layer.

    (A dependency that only a dev tool installs, e.g. aws-xray-sdk via moto, would import fine in
    tests and crash the function at its first cold start.)
    """
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    used = json.loads(result.stdout.strip().splitlines()[-1])
    pins = _requirements((REPO_ROOT / "layers" / "requirements.txt").read_text())
    missing = {
        dist: module
        for dist, module in used.items()
        if dist.lower().replace("_", "-") not in pins and module not in OPTIONAL_IMPORTS
    }
    assert not missing, f"imported by the app but not in the layer: {missing}"
    assert "aws-xray-sdk" in pins  # Powertools' Tracer needs it (the [tracer] extra)


def test_layer_has_aarch64_python313_binaries_only(arm64_layer: Path) -> None:
    site = arm64_layer / "python"
    extensions = list(site.rglob("*.so"))
    assert extensions, "compiled dependencies (pydantic-core, cryptography, ...) expected"
    machines = {path.relative_to(site).as_posix(): _elf_machine(path) for path in extensions}
    wrong = {name: m for name, m in machines.items() if m != ELF_MACHINE_AARCH64}
    assert not wrong, f"non-aarch64 binaries in the layer: {wrong}"
    assert list(site.glob("pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"))
    assert not [p for p in extensions if "cpython-311" in p.name or "x86_64" in p.name]


def test_layer_holds_every_locked_version(arm64_layer: Path) -> None:
    site = arm64_layer / "python"
    installed = {}
    for dist in site.glob("*.dist-info"):
        name, version = dist.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower().replace("_", "-")] = version
    wanted = _requirements((REPO_ROOT / "layers" / "requirements.txt").read_text())
    missing = {name: v for name, v in wanted.items() if installed.get(name) != v}
    # Platform-conditional pins (win32, emscripten) are not for Lambda.
    missing = {n: v for n, v in missing.items() if n not in {"pywin32", "httpx2-jsfetch"}}
    assert not missing, f"locked versions missing from the layer: {missing}"


def test_layer_bytecode_is_for_python313_only(arm64_layer: Path, build: ModuleType) -> None:
    site = arm64_layer / "python"
    caches = {p.name for p in site.rglob("*.pyc")}
    assert not [name for name in caches if ".cpython-3" in name and ".cpython-313" not in name]
    if build._find_python313() is not None:
        assert any(".cpython-313" in name for name in caches), "precompiled .pyc expected"
    assert not (site / "bin").exists()


def test_layer_fits_the_lambda_limit(arm64_layer: Path) -> None:
    size = sum(p.stat().st_size for p in arm64_layer.rglob("*") if p.is_file())
    assert size < 250 * 1024 * 1024  # Lambda: function + layers unzipped


def test_rebuild_is_skipped_when_inputs_are_unchanged(arm64_layer: Path, build: ModuleType) -> None:
    marker = arm64_layer / "python" / "kept.marker"
    marker.write_text("a rebuild would delete this")
    try:
        assert build.build("arm64") == arm64_layer
        assert marker.exists()
    finally:
        marker.unlink()


def test_unknown_architecture_is_refused(build: ModuleType) -> None:
    with pytest.raises(build.BuildError, match="unknown architecture 'sparc'"):
        build.build("sparc")


def test_stack_refuses_a_missing_layer_with_instructions(tmp_path: Path) -> None:
    from aws_cdk import App

    from task_assistant_cdk.functions import resolve_layer_dir

    app = App(context={"layer_dir": str(tmp_path / "nowhere")})
    with pytest.raises(FileNotFoundError, match="make layer"):
        resolve_layer_dir(app, "arm64")
    default = (
        resolve_layer_dir(App(), "arm64") if (REPO_ROOT / "layers/build/arm64/python").is_dir() else None
    )
    assert default is None or default == REPO_ROOT / "layers" / "build" / "arm64"

"""Build the Lambda dependencies layer without Docker.

The layer holds the application's third-party dependencies for the Lambda runtime
(Python 3.13, Amazon Linux, arm64 by default) and nothing else; the application package
itself ships as the separate function code asset (``functions/``).

How it works, and why no Docker is needed:

1. ``uv export`` turns ``uv.lock`` into ``layers/requirements.txt`` (runtime dependencies
   only: no dev or cdk groups, no hashes, not the project itself), so the layer carries
   exactly the versions the tests ran against.
2. ``pip install --platform manylinux2014_<arch> --implementation cp --python-version 3.13
   --only-binary=:all: --target layers/build/<arch>/python -r layers/requirements.txt``
   downloads the prebuilt wheels for the *target* platform; nothing is compiled here, so
   the host's OS and CPU do not matter. (``uv pip install`` with the equivalent
   ``--python-platform`` is used when the running interpreter has no pip; the result is
   the same set of wheels.)
3. Byte-code is precompiled with a Python 3.13 interpreter when one is available
   (``--invalidation-mode unchecked-hash``): ``/opt`` is read-only on Lambda, so without
   ``.pyc`` files every cold start would compile every imported module again.
4. What the deployed code cannot use is removed before compiling: byte-code caches of the
   host, console scripts, the test suites some wheels ship (``<package>/tests``), and every
   botocore service model except ``BOTOCORE_SERVICES`` (botocore ships JSON models for ~430
   AWS services, 18 MB of the layer; the app talks to a handful). A stamp file next to the
   output records the inputs, so an unchanged build is skipped (``--force`` rebuilds), and the
   SHA-256 of ``uv.lock``: synthesis refuses a layer whose stamp names another lock
   (``cdk/task_assistant_cdk/layer.py``). A lock change that leaves the runtime requirements as they
   were only rewrites the stamp.

boto3/botocore are pinned in the layer on purpose even though the runtime ships them: the
runtime's copy changes without notice, and the code was tested against the locked
version. ``--exclude`` drops packages if the size budget ever matters more.

Usage::

    scripts/uv run python layers/build.py                 # arm64 (default)
    scripts/uv run python layers/build.py --arch x86_64
    scripts/uv run python layers/build.py --export-only   # refresh layers/requirements.txt
"""

from __future__ import annotations

# Every subprocess below runs a fixed tool (uv, pip, python) with arguments built here, never
# from untrusted input.
# ruff: noqa: S603
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV_LOCK = ROOT / "uv.lock"
LAYERS = ROOT / "layers"
REQUIREMENTS = LAYERS / "requirements.txt"
BUILD = LAYERS / "build"
#: The project's uv launcher: finds (or installs) uv whatever PATH holds.
UV = str(ROOT / "scripts" / "uv")
PYTHON_VERSION = "3.13"

#: Lambda architecture name -> (pip platform tag, uv --python-platform value)
PLATFORMS: dict[str, tuple[str, str]] = {
    "arm64": ("manylinux2014_aarch64", "aarch64-manylinux2014"),
    "x86_64": ("manylinux2014_x86_64", "x86_64-manylinux2014"),
}

#: The botocore service models kept in the layer; every other directory under ``botocore/data``
#: (and ``boto3/data``) is deleted, and all top-level files there (endpoints.json,
#: partitions.json, sdk-default-configuration.json, _retry.json, ...) are kept, since botocore
#: reads them for every client. Creating a client for a service missing here fails with
#: botocore's ``UnknownServiceError`` naming it, so a new ``client("...")`` in the app needs
#: its service added here (tests/infra/test_infra_layer.py checks the app's calls against
#: this set and creates a client for each entry from the built layer).
BOTOCORE_SERVICES: frozenset[str] = frozenset(
    {
        # The app's own clients: storage/clients.py (DynamoDB, S3) and agent/models.py
        # (Powertools' SecretsProvider reads the OpenAI key from Secrets Manager).
        "dynamodb",
        "s3",
        "secretsmanager",
        # Clients botocore creates itself while resolving credentials or tokens
        # (botocore/credentials.py: assume-role and web identity -> sts, SSO -> sso,
        # `aws login` -> signin; botocore/tokens.py: SSO token refresh -> sso-oidc). Lambda
        # passes credentials in environment variables, but a local run with a profile may not.
        "sts",
        "sso",
        "sso-oidc",
        "signin",
        # aws-xray-sdk (Powertools Tracer) creates an X-Ray client for centralized sampling
        # rules (aws_xray_sdk/core/sampling/connector.py).
        "xray",
    }
)

#: Directory names of bundled test suites removed from inside installed packages
#: (e.g. jsonschema/tests); no package imports its own test suite at run time.
PACKAGE_TEST_DIRS = frozenset({"tests"})

EXPORT_COMMAND = [
    UV,
    "export",
    "--frozen",
    "--no-dev",
    "--no-group",
    "cdk",
    "--no-hashes",
    "--no-emit-project",
    "--no-header",
    "--no-annotate",
]


class BuildError(RuntimeError):
    """A step of the layer build failed; the message names the step and the cause."""


def export_requirements() -> str:
    """The runtime requirements from ``uv.lock``, exactly as ``uv export`` prints them."""
    try:
        result = subprocess.run(EXPORT_COMMAND, cwd=ROOT, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BuildError(f"cannot run {UV}: {exc}") from exc
    if result.returncode != 0:
        raise BuildError(f"`{' '.join(EXPORT_COMMAND)}` failed: {result.stderr.strip()}")
    header = "# Generated by layers/build.py from uv.lock (uv export); do not edit by hand.\n"
    return header + result.stdout


def write_requirements() -> Path:
    """Refresh ``layers/requirements.txt`` from ``uv.lock`` and return its path."""
    REQUIREMENTS.write_text(export_requirements())
    return REQUIREMENTS


def layer_dir(arch: str) -> Path:
    """Where the layer for ``arch`` is built; this directory is the CDK layer asset."""
    return BUILD / arch


def _stamp_path(arch: str) -> Path:
    # Outside the asset directory so the stamp never ends up in the layer.
    return BUILD / f"{arch}.stamp.json"


def _find_python313() -> str | None:
    """A Python 3.13 interpreter for byte-compiling, or None when the machine has none."""
    candidates = [os.environ.get("LAYER_PYTHON313"), shutil.which("python3.13")]
    # pyenv keeps interpreters under <root>/versions; its shims fail for versions not selected
    # globally, so look at the interpreters themselves. Besides this user's ~/.pyenv, the machine's own
    # pyenv may belong to another home (an image built as root, used with a fresh HOME).
    roots = {os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv"), "/root/.pyenv", "/usr/local/pyenv"}
    for root in sorted(r for r in roots if r):
        candidates += [str(p) for p in sorted(Path(root).glob("versions/3.13*/bin/python3.13"))]
    for candidate in candidates:
        if candidate and _is_python313(candidate):
            return candidate
    try:
        found = subprocess.run(
            [UV, "python", "find", "--no-python-downloads", PYTHON_VERSION],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    path = found.stdout.strip()
    return path if found.returncode == 0 and path and _is_python313(path) else None


def _is_python313(executable: str) -> bool:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == PYTHON_VERSION


def _has_pip() -> bool:
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
    return probe.returncode == 0


def install_command(arch: str, target: Path, requirements: Path) -> list[str]:
    """The no-Docker install command for ``arch`` (pip when available, else ``uv pip``)."""
    pip_platform, uv_platform = PLATFORMS[arch]
    if _has_pip():
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--no-deps",  # requirements.txt is the complete, locked closure
            "--platform",
            pip_platform,
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(requirements),
        ]
    return [
        UV,
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--python-platform",
        uv_platform,
        "--python-version",
        PYTHON_VERSION,
        "--only-binary",
        ":all:",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def prune_service_models(site: Path, keep: frozenset[str] = BOTOCORE_SERVICES) -> list[str]:
    """Delete the botocore (and boto3 resource) service models not in ``keep``; return their names.

    Only service directories go; the top-level data files botocore needs for every client stay.
    """
    removed: set[str] = set()
    for data in (site / "botocore" / "data", site / "boto3" / "data"):
        if not data.is_dir():
            continue
        for entry in data.iterdir():
            if entry.is_dir() and entry.name not in keep:
                shutil.rmtree(entry)
                removed.add(entry.name)
    return sorted(removed)


def _prune(site: Path, exclude: set[str]) -> None:
    """Drop host byte-code caches, excluded packages, bundled test suites and unused AWS models."""
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    for entry in list(site.iterdir()):
        stem = entry.name.split("-")[0].lower()
        if entry.name.lower() in exclude or stem in exclude:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: useless in /opt/python
    for package in site.iterdir():
        if package.is_dir() and not package.name.endswith((".dist-info", ".data")):
            for name in PACKAGE_TEST_DIRS:
                shutil.rmtree(package / name, ignore_errors=True)
    prune_service_models(site)


def _compile(site: Path, python313: str) -> None:
    result = subprocess.run(
        [
            python313,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(site),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # compileall exits 1 when a file fails to compile (e.g. a py2-only test fixture
    # inside some wheel); the rest is still compiled, so report but do not fail.
    if result.returncode not in (0, 1):
        raise BuildError(f"byte-compiling with {python313} failed: {result.stderr.strip()}")


def build(arch: str = "arm64", *, force: bool = False, compile_bytecode: bool = True, exclude=()) -> Path:
    """Build the layer for ``arch`` into ``layers/build/<arch>`` and return that directory.

    Skips the work when the stamp shows the same requirements, architecture and options.
    """
    if arch not in PLATFORMS:
        raise BuildError(f"unknown architecture {arch!r}; choose one of {sorted(PLATFORMS)}")
    requirements_text = export_requirements()
    REQUIREMENTS.write_text(requirements_text)
    python313 = _find_python313() if compile_bytecode else None
    excluded = {name.lower().replace("_", "-") for name in exclude} | {
        name.lower().replace("-", "_") for name in exclude
    }
    inputs = {
        "requirements_sha256": hashlib.sha256(requirements_text.encode()).hexdigest(),
        "arch": arch,
        "python": PYTHON_VERSION,
        "compiled": python313 is not None,
        "exclude": sorted(excluded),
        "botocore_services": sorted(BOTOCORE_SERVICES),
        "package_test_dirs": sorted(PACKAGE_TEST_DIRS),
    }
    out = layer_dir(arch)
    stamp = _stamp_path(arch)
    # What synthesis compares (cdk/task_assistant_cdk/layer.py); not an input: a lock change that leaves
    # the exported requirements alone (a dev dependency, say) changes nothing in the layer.
    stamped = {**inputs, "uv_lock_sha256": hashlib.sha256(UV_LOCK.read_bytes()).hexdigest()}
    if not force and out.is_dir() and stamp.is_file():
        try:
            recorded = json.loads(stamp.read_text())
        except json.JSONDecodeError:
            recorded = None
        recorded_inputs = (
            {k: v for k, v in recorded.items() if k != "uv_lock_sha256"}
            if isinstance(recorded, dict)
            else None
        )
        if recorded_inputs == inputs:
            if recorded != stamped:
                stamp.write_text(json.dumps(stamped, indent=2))
            return out
    if out.exists():
        shutil.rmtree(out)
    stamp.unlink(missing_ok=True)
    site = out / "python"  # Lambda puts <layer>/python on sys.path
    site.mkdir(parents=True)
    command = install_command(arch, site, REQUIREMENTS)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(out, ignore_errors=True)
        raise BuildError(f"installing wheels for {arch} failed:\n{result.stdout}{result.stderr}".strip())
    _prune(site, excluded)
    if python313 is not None:
        _compile(site, python313)
    else:
        print("note: no Python 3.13 interpreter found; the layer ships without .pyc files", file=sys.stderr)
    stamp.write_text(json.dumps(stamped, indent=2))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    parser.add_argument("--no-compile", action="store_true", help="ship without precompiled .pyc files")
    parser.add_argument("--exclude", action="append", default=[], help="drop a package (repeatable)")
    parser.add_argument("--export-only", action="store_true", help="only refresh layers/requirements.txt")
    args = parser.parse_args(argv)
    try:
        if args.export_only:
            print(write_requirements())
            return 0
        out = build(args.arch, force=args.force, compile_bytecode=not args.no_compile, exclude=args.exclude)
    except BuildError as exc:
        print(f"layer build failed: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

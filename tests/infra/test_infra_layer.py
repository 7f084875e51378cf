"""The dependencies layer: built without Docker for Python 3.13 on arm64, from the locked versions.

The build downloads the arm64 wheels once (about 100 MB, cached by uv/pip and in
``layers/build/``); later runs only compare the stamp. The functional checks also build the
layer for this machine's CPU (x86_64 here: arm64 binaries cannot load on it) and run it with
Python 3.13, the Lambda runtime's version, with nothing but the layer and ``functions/`` on
``sys.path``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import platform
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest

from support.infra import REPO_ROOT

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


#: ``platform.machine()`` -> the Lambda architecture whose binaries this host can load.
HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@pytest.fixture(scope="module")
def host_layer(build: ModuleType, arm64_layer: Path) -> Path:
    """The layer built (same steps, same pruning) for this machine's CPU, so its binaries load here."""
    arch = HOST_ARCH.get(platform.machine().lower())
    if arch is None:
        pytest.fail(f"no Lambda architecture matches this machine ({platform.machine()})")
    return arm64_layer if arch == "arm64" else build.build(arch)


@pytest.fixture(scope="module")
def python313(build: ModuleType) -> str:
    """The Lambda runtime's Python version; the layer's byte-code and binaries are for it."""
    found = build._find_python313()
    if found is None:
        pytest.fail("these tests need Python 3.13: `uv python install 3.13` or set LAYER_PYTHON313")
    return str(found)


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

    from task_assistant_cdk.layer import resolve_layer_dir

    app = App(context={"layer_dir": str(tmp_path / "nowhere")})
    with pytest.raises(FileNotFoundError, match="make layer"):
        resolve_layer_dir(app, "arm64")
    default = (
        resolve_layer_dir(App(), "arm64") if (REPO_ROOT / "layers/build/arm64/python").is_dir() else None
    )
    assert default is None or default == REPO_ROOT / "layers" / "build" / "arm64"


# --- pruned botocore service models -------------------------------------------------------------


def _record_paths(site: Path, dist: str) -> list[str]:
    """Paths the wheel of ``dist`` installed, from its ``RECORD`` (which pruning leaves as is)."""
    (dist_info,) = site.glob(f"{dist}-*.dist-info")
    return [line.split(",")[0] for line in (dist_info / "RECORD").read_text().splitlines() if line]


def test_layer_keeps_exactly_the_allowed_service_models(arm64_layer: Path, build: ModuleType) -> None:
    """Pruning ran: only the allow-listed service models remain, every data file botocore needs stays."""
    site = arm64_layer / "python"
    shipped = _record_paths(site, "botocore")
    wheel_services = {p.split("/")[2] for p in shipped if p.startswith("botocore/data/") and p.count("/") > 2}
    assert len(wheel_services) > 300  # the wheel ships every AWS service; the layer must not
    assert wheel_services >= build.BOTOCORE_SERVICES, "a typo in BOTOCORE_SERVICES?"
    data = site / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(build.BOTOCORE_SERVICES)
    for service in build.BOTOCORE_SERVICES:  # each kept model is complete, not just its directory
        wanted = {p for p in shipped if p.startswith(f"botocore/data/{service}/")}
        assert wanted and all((site / p).is_file() for p in wanted), service
    top_level = {p for p in shipped if p.startswith("botocore/data/") and p.count("/") == 2}
    assert {"botocore/data/endpoints.json", "botocore/data/partitions.json"} <= top_level
    assert all((site / p).is_file() for p in top_level), "top-level data files must all stay"
    boto3_models = {p.name for p in (site / "boto3" / "data").iterdir()}
    assert boto3_models and boto3_models <= build.BOTOCORE_SERVICES
    assert not list(site.glob("*/tests")), "bundled test suites are pruned"
    pruned_bytes = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    assert pruned_bytes < 4 * 1024 * 1024  # 1.7 MB pruned, 18 MB unpruned


#: Calls (method names) on ``boto3.client``/``Session.client``/``create_client``/``resource`` and
#: the Powertools parameters utilities that name an AWS service.
_CLIENT_FACTORIES = {"client", "_client", "create_client", "resource", "create_nested_client"}
_POWERTOOLS_SERVICES = {
    "SecretsProvider": "secretsmanager",
    "get_secret": "secretsmanager",
    "get_secrets_by_name": "secretsmanager",
    "SSMProvider": "ssm",
    "get_parameter": "ssm",
    "get_parameters": "ssm",
    "get_parameters_by_name": "ssm",
    "AppConfigProvider": "appconfigdata",
    "get_app_config": "appconfigdata",
    "DynamoDBProvider": "dynamodb",
}


def _services_named_in(source: str) -> set[str]:
    services = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and "powertools.utilities.parameters" in node.module
        ):
            services |= {_POWERTOOLS_SERVICES[a.name] for a in node.names if a.name in _POWERTOOLS_SERVICES}
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in _CLIENT_FACTORIES and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                services.add(first.value)
    return services


def test_service_allow_list_covers_every_service_the_deployed_code_names(build: ModuleType) -> None:
    """A new ``client("ssm")`` (or Powertools SSM parameter) in the app must extend BOTOCORE_SERVICES."""
    package = REPO_ROOT / "functions" / "task_assistant"
    used: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        if "local" in path.relative_to(package).parts[:1]:  # developer tools, run from the dev venv
            continue
        for service in _services_named_in(path.read_text()):
            used.setdefault(service, set()).add(str(path.relative_to(package)))
    assert {"dynamodb", "s3", "secretsmanager"} <= used.keys(), f"the scan found only {sorted(used)}"
    missing = {s: sorted(files) for s, files in used.items() if s not in build.BOTOCORE_SERVICES}
    assert not missing, f"services the app uses but the layer prunes (add to BOTOCORE_SERVICES): {missing}"
    # The scan itself recognises the shapes it claims to (so a pass above means something).
    probe = "from aws_lambda_powertools.utilities.parameters import get_parameter\nboto3.resource('sqs')\n"
    assert _services_named_in(probe) == {"ssm", "sqs"}


_LAYER_PROBE = r"""
import functools, json, sys
layer, functions, services, import_app = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
sys.path[:0] = [layer, functions]
import boto3, botocore
from botocore.config import Config
from botocore.exceptions import UnknownServiceError
for module in (boto3, botocore):
    assert module.__file__.startswith(layer), module.__file__
report = {"urls": {}}
if import_app:
    # Lambda imports one entry point per function; the first ChatKit turn then loads the agent stack.
    import task_assistant.entry.api, task_assistant.entry.streaming
    import task_assistant.chat.service_factory, agents, openai, mcp, chatkit.server
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    report["imported"] = len(sys.modules)


class Captured(Exception):
    pass


def capture(service, request, **_):
    report["urls"][service] = request.url
    raise Captured


# What the app and botocore's own credential providers call; every kept service must load too.
CALLS = {
    "dynamodb": ("query", {"TableName": "chat", "KeyConditionExpression": "pk = :p",
                           "ExpressionAttributeValues": {":p": {"S": "u"}}}),
    "s3": ("put_object", {"Bucket": "attachments", "Key": "k", "Body": b"x"}),
    "secretsmanager": ("get_secret_value", {"SecretId": "openai-key"}),
    "sts": ("assume_role_with_web_identity", {"RoleArn": "arn:aws:iam::123456789012:role/r",
                                             "RoleSessionName": "session", "WebIdentityToken": "token"}),
    "sso": ("get_role_credentials", {"roleName": "r", "accountId": "123456789012", "accessToken": "t"}),
    "sso-oidc": ("create_token", {"clientId": "c", "clientSecret": "s", "grantType": "refresh_token"}),
    "signin": ("create_o_auth2_token", {"tokenInput": {"clientId": "c", "refreshToken": "r",
                                                       "grantType": "refresh_token"}}),
    "xray": ("get_sampling_rules", {}),
}
session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name="us-east-1")
for service in services:
    client = session.client(service, config=Config(retries={"max_attempts": 1}))
    assert client.meta.service_model.operation_names
    client.meta.events.register("before-send", functools.partial(capture, service))
    operation, params = CALLS.get(service, (None, None))
    if operation is not None:
        try:
            getattr(client, operation)(**params)
        except Captured:
            pass
        else:
            raise AssertionError(f"{service}.{operation} was not captured before sending")
download = {"Bucket": "attachments", "Key": "upload.txt"}
presigned = session.client("s3").generate_presigned_url("get_object", Params=download)
report["presigned"] = presigned.split("?")[0]
try:
    session.client("ssm")
except UnknownServiceError:
    report["pruned_ssm"] = True
print(json.dumps(report))
"""


def _run_layer_probe(
    python: str, layer: Path, services: frozenset[str], *, import_app: bool, home: Path
) -> dict:
    # A clean environment: dummy credentials, no profile or config files, no metadata service, so
    # nothing can reach AWS (and the probe stops every request before it is sent anyway).
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [
            python,
            "-I",  # isolated: no user site, no PYTHON* variables, no current directory on sys.path
            "-c",
            _LAYER_PROBE,
            str(layer / "python"),
            str(REPO_ROOT / "functions"),
            json.dumps(sorted(services)),
            "1" if import_app else "0",
        ],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _assert_every_service_worked(report: dict, services: frozenset[str]) -> None:
    urls = report["urls"]
    assert set(urls) == set(services), f"no request prepared for {sorted(set(services) - set(urls))}"
    for service, url in urls.items():
        host = urlsplit(url).hostname or ""
        assert url.startswith("https://") and host.endswith((".amazonaws.com", ".amazon.com")), (service, url)
    assert "dynamodb.us-east-1.amazonaws.com" in urls["dynamodb"]
    assert "attachments" in urls["s3"] and "secretsmanager.us-east-1" in urls["secretsmanager"]
    assert report["presigned"] == "https://attachments.s3.amazonaws.com/upload.txt"
    assert report.get("pruned_ssm"), "a service outside the allow-list must be gone"


def test_pruned_layer_serves_the_app_on_python313(
    host_layer: Path, python313: str, build: ModuleType, tmp_path: Path
) -> None:
    """With only the built layer + functions/ on the path (as on Lambda), the entry points, the agent
    stack and Powertools import, and a boto3 client for every kept service prepares a signed request."""
    report = _run_layer_probe(python313, host_layer, build.BOTOCORE_SERVICES, import_app=True, home=tmp_path)
    _assert_every_service_worked(report, build.BOTOCORE_SERVICES)
    assert report["imported"] > 500


def test_deployed_arm64_layer_creates_every_kept_client(
    arm64_layer: Path, python313: str, build: ModuleType, tmp_path: Path
) -> None:
    """The arm64 layer itself (what ships): boto3 and botocore are pure Python, so they load here too."""
    report = _run_layer_probe(
        python313, arm64_layer, build.BOTOCORE_SERVICES, import_app=False, home=tmp_path
    )
    _assert_every_service_worked(report, build.BOTOCORE_SERVICES)

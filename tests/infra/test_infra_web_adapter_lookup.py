"""``make lwa-layer``: finding the adapter's layer version of the release in a region the data lacks.

Against moto's server speaking the Lambda API: layers are published there the way the adapter's release
workflow publishes them (one version per release, the release at the end of the description). moto
keeps each account's layers to itself, so the lookup reads them as the publishing account; in AWS any
account can (the adapter grants ``lambda:GetLayerVersion`` to everyone). The command itself runs as a
user runs it, in a process of its own with the publisher account's credentials.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from task_assistant.local.embedded import EmbeddedAWS
from task_assistant_cdk.web_adapter_layers import LWA_COMMERCIAL_ACCOUNT, LWA_LAYER_NAMES, LWA_RELEASE
from task_assistant_cdk.web_adapter_lookup import GIVE_UP_AFTER, find_release_layer, report

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

REPO = Path(__file__).resolve().parents[2]
MOTO_ACCOUNT = "123456789012"
RELEASE = LWA_RELEASE.lstrip("v")


@pytest.fixture(scope="module")
def moto() -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(prefix="lwa") as aws:
        yield aws


def _client(moto: EmbeddedAWS, region: str, **credentials: Any) -> LambdaClient:
    keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client("lambda", region_name=region, endpoint_url=moto.endpoint_url, **keys)


def _publish(client: LambdaClient, architecture: str, releases: list[str]) -> list[str]:
    """One layer version per release, as the adapter's workflow publishes them; their ARNs."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("extensions/lambda-adapter", b"\x7fELF")
    arns = []
    for release in releases:
        published = client.publish_layer_version(
            LayerName=LWA_LAYER_NAMES[architecture],  # type: ignore[index]
            Description=f"Layer for AWS Lambda Adapter {architecture}: {release}",
            Content={"ZipFile": archive.getvalue()},
            CompatibleArchitectures=[architecture],  # type: ignore[list-item]
        )
        arns.append(published["LayerVersionArn"])
    return arns


def test_the_newest_version_of_the_release_is_found_among_others(moto: EmbeddedAWS) -> None:
    client = _client(moto, "ap-southeast-5")
    arns = _publish(client, "arm64", ["1.0.0", "1.0.1", RELEASE, RELEASE, "1.2.0"])
    lookup = find_release_layer(client, "ap-southeast-5", "arm64", account=MOTO_ACCOUNT)
    assert lookup.found is not None and lookup.found.version == 4 and lookup.found.arn == arns[3]
    assert [v.version for v in lookup.seen] == [1, 2, 3, 4, 5]
    text = report(lookup, "ap-southeast-5", "arm64")
    assert f"-c lwa_layer_arn={arns[3]}" in text
    assert 'LWA_LAYERS["ap-southeast-5"]["arm64"] = 4' in text


def test_deleted_versions_are_stepped_over_and_the_other_architecture_is_its_own_layer(
    moto: EmbeddedAWS,
) -> None:
    client = _client(moto, "mx-central-1")
    _publish(client, "x86_64", [RELEASE])
    _publish(client, "arm64", [f"0.{n}.0" for n in range(GIVE_UP_AFTER - 1)] + [RELEASE])
    for version in range(1, GIVE_UP_AFTER):
        client.delete_layer_version(LayerName=LWA_LAYER_NAMES["arm64"], VersionNumber=version)
    lookup = find_release_layer(client, "mx-central-1", "arm64", account=MOTO_ACCOUNT)
    assert lookup.found is not None and lookup.found.version == GIVE_UP_AFTER
    x86 = find_release_layer(client, "mx-central-1", "x86_64", account=MOTO_ACCOUNT)
    assert x86.found is not None and x86.found.version == 1 and ":LambdaAdapterLayerX86:1" in x86.found.arn


def test_a_region_without_the_release_or_without_the_layer_says_so(moto: EmbeddedAWS) -> None:
    client = _client(moto, "ca-west-1")
    _publish(client, "arm64", ["1.0.1"])
    older = find_release_layer(client, "ca-west-1", "arm64", account=MOTO_ACCOUNT)
    assert older.found is None and [v.version for v in older.seen] == [1]
    assert "newest is version 1 (Layer for AWS Lambda Adapter arm64: 1.0.1)" in report(
        older, "ca-west-1", "arm64"
    )
    none = find_release_layer(client, "ca-west-1", "x86_64", account=MOTO_ACCOUNT)
    assert none.found is None and none.seen == ()
    assert "No LambdaAdapterLayerX86 layer is published in ca-west-1" in report(none, "ca-west-1", "x86_64")


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, str(REPO / "cdk" / "lwa_layer.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_prints_the_arn_to_deploy_with(moto: EmbeddedAWS, tmp_path: Path) -> None:
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=moto.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    role = f"arn:aws:iam::{LWA_COMMERCIAL_ACCOUNT}:role/release"
    keys = sts.assume_role(RoleArn=role, RoleSessionName="release")["Credentials"]
    credentials = {
        "aws_access_key_id": keys["AccessKeyId"],
        "aws_secret_access_key": keys["SecretAccessKey"],
        "aws_session_token": keys["SessionToken"],
    }
    [arn] = _publish(_client(moto, "il-central-1", **credentials), "arm64", [RELEASE])
    assert f":{LWA_COMMERCIAL_ACCOUNT}:layer:LambdaAdapterLayerArm64:1" in arn
    env = {
        "AWS_ENDPOINT_URL_LAMBDA": moto.endpoint_url,
        "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
        "AWS_SESSION_TOKEN": keys["SessionToken"],
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    found = _run("--region", "il-central-1", "--arch", "arm64", env=env)
    assert found.returncode == 0, found.stderr
    assert f"-c lwa_layer_arn={arn}" in found.stdout

    missing = _run("--region", "il-central-1", "--arch", "x86_64", env=env)
    assert missing.returncode == 1 and "No LambdaAdapterLayerX86 layer is published" in missing.stdout


def test_the_command_without_credentials_says_what_to_set(tmp_path: Path) -> None:
    nothing = str(tmp_path / "none")
    env = {
        "AWS_CONFIG_FILE": nothing,
        "AWS_SHARED_CREDENTIALS_FILE": nothing,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = _run("--region", "ap-southeast-5", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no AWS credentials: set AWS_PROFILE")
    assert "Traceback" not in result.stderr

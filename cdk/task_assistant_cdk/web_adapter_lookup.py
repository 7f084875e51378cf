"""Find the Lambda Web Adapter layer of :data:`LWA_RELEASE` in a region whose number the data lacks.

    make lwa-layer REGION=ap-southeast-5 ARCH=arm64
    scripts/uv run --no-sync python cdk/lwa_layer.py --region ap-southeast-5 --arch arm64

It reads the adapter's public layer versions with your AWS credentials (the adapter grants
``lambda:GetLayerVersion`` to every principal, so any identity will do) and changes nothing. Layer
versions count up from 1 in each region and the adapter keeps every one, so the versions are read in
order until :data:`GIVE_UP_AFTER` numbers in a row do not exist. The adapter's release workflow writes the
release into each version's description (``Layer for AWS Lambda Adapter arm64: 1.1.0``); the highest
version whose description ends in the release is the answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from .web_adapter_layers import LWA_LAYER_NAMES, LWA_RELEASE, Architecture, layer_arn_for

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

#: Missing version numbers in a row after which there are no more (a region can start past 1: the
#: China regions started at 16).
GIVE_UP_AFTER: Final = 20
#: Never read past this version: far beyond the adapter's 30 releases in ten years.
MAX_VERSION: Final = 200
#: What reading a version that does not exist answers (another account's layer: AccessDenied).
_ABSENT: Final = frozenset({"ResourceNotFoundException", "AccessDeniedException", "AccessDenied"})


@dataclass(frozen=True)
class LayerVersion:
    """One published version of the adapter's layer."""

    version: int
    arn: str
    description: str


@dataclass(frozen=True)
class Lookup:
    """What :func:`find_release_layer` read: the release's version (if found) and every version seen."""

    release: str
    found: LayerVersion | None
    seen: tuple[LayerVersion, ...]


def find_release_layer(
    client: LambdaClient,
    region: str,
    architecture: Architecture,
    *,
    release: str = LWA_RELEASE,
    account: str | None = None,
) -> Lookup:
    """The adapter layer of ``release`` in ``region`` for ``architecture``, read through ``client``.

    ``account`` defaults to the adapter's publisher account of the region's partition.
    """
    from botocore.exceptions import ClientError

    layer = layer_arn_for(region, architecture, 1, account=account).rsplit(":", 1)[0]
    seen: list[LayerVersion] = []
    misses = 0
    for number in range(1, MAX_VERSION + 1):
        try:
            response = client.get_layer_version(LayerName=layer, VersionNumber=number)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _ABSENT:
                raise
            misses += 1
            if misses >= GIVE_UP_AFTER:
                break
            continue
        misses = 0
        seen.append(LayerVersion(number, response["LayerVersionArn"], response.get("Description", "")))
    wanted = f": {release.lstrip('v')}"
    matching = [v for v in seen if v.description.rstrip().endswith(wanted)]
    return Lookup(release, matching[-1] if matching else None, tuple(seen))


def report(lookup: Lookup, region: str, architecture: Architecture) -> str:
    """What to tell the person who asked: the ARN and how to use it, or what the region has instead."""
    name = LWA_LAYER_NAMES[architecture]
    if lookup.found is not None:
        arn = lookup.found.arn
        return (
            f"Lambda Web Adapter {lookup.release} for {architecture} in {region}: version "
            f"{lookup.found.version}\n  {arn}\n\n"
            f"Deploy with it:\n  npx cdk deploy -c env=<env> -c architecture={architecture} "
            f"-c lwa_layer_arn={arn}\n"
            f'Or record it for everyone: LWA_LAYERS["{region}"]["{architecture}"] = {lookup.found.version} '
            f"({name}) in cdk/task_assistant_cdk/web_adapter_layers.py."
        )
    if not lookup.seen:
        return (
            f"No {name} layer is published in {region} (no version between 1 and the first "
            f"{GIVE_UP_AFTER} missing numbers). Deploy to another region, or publish the adapter's layer in "
            f"your account and pass its ARN with -c lwa_layer_arn=<arn>."
        )
    newest = lookup.seen[-1]
    return (
        f"No {name} version in {region} is release {lookup.release}. The newest is version "
        f"{newest.version} ({newest.description or 'no description'}):\n  {newest.arn}\n"
        f"It is a different release of the adapter; use it (-c lwa_layer_arn=...) only after checking it "
        f"supports what this stack needs (SnapStart hooks: {lookup.release} or later)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--region", required=True, help="the region to deploy to, e.g. ap-southeast-5")
    parser.add_argument("--arch", choices=sorted(LWA_LAYER_NAMES), default="arm64")
    parser.add_argument("--release", default=LWA_RELEASE, help=f"adapter release (default {LWA_RELEASE})")
    args = parser.parse_args(argv)

    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    architecture = cast("Architecture", args.arch)
    try:
        # Bounded: without a network this says so in seconds, not after botocore's default minutes.
        config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
        client = boto3.client("lambda", region_name=args.region, config=config)
        lookup = find_release_layer(client, args.region, architecture, release=args.release)
    except NoCredentialsError:
        print(
            "error: no AWS credentials: set AWS_PROFILE (or sign in with `aws sso login`) for any account; "
            "reading the adapter's public layers needs no permissions of your own.",
            file=sys.stderr,
        )
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"error: could not read the adapter's layers in {args.region}: {exc}", file=sys.stderr)
        return 2
    print(report(lookup, args.region, architecture))
    return 0 if lookup.found is not None else 1

"""The Lambda Web Adapter layer: which ARN to attach, per region and architecture, from data kept here.

Layer version numbers count per region: a region that joined the adapter's release pipeline later
numbers the same release differently, and an ARN built from one "global" number fails there with
"layer version does not exist". So every region is written out below with its own number, and a region
whose number for the release is not documented fails synthesis at once, saying what to do.

Source (checked 2026-11-30) — the adapter repository (github.com/aws/aws-lambda-web-adapter, formerly
awslabs/aws-lambda-web-adapter):

- Release v1.1.0 (2026-09-18; PR 871 "point docs and examples at v1.1.0 and layer version 30") is layer
  version **30** of ``LambdaAdapterLayerX86`` / ``LambdaAdapterLayerArm64`` in account 753240598075
  (29 was cut by a reverted July build; v1.0.1 = 28, v1.0.0 = 27, v1.0.0-rc1 = 26, v0.9.1 = 25). The
  release run deployed to "all 32 deploy-prod regions and both deploy-china-prod regions". It is the
  first release with the SnapStart bridge (PR 837, merged 2026-09-08; the July attempt, PR 790, was
  reverted in PR 793).
- The 32 regions are ``.github/workflows/prod.json``: the 34 regions of 2026-02-10 (PR 629) minus
  me-south-1 (PR 691, 2026-03-27) and me-central-1 (PR 744, 2026-05-28).
- The README's ARN (``arn:aws:lambda:${AWS::Region}:753240598075:layer:...:30``) holds where a region has
  been in the pipeline for that architecture since 2023-08 or earlier: the regions added then were
  backfilled to the same numbers (the China regions, added that month, started at 16 like the rest;
  README 2023-08-16). Those are the numbered entries below.
- Published for v1.1.0 but under a number no source documents (``None`` below): arm64 in ap-south-2,
  ap-southeast-4, eu-central-2 and eu-south-2 (enabled 2025-11-17, PR 621), both architectures in the
  seven regions added 2026-02-10 (PR 629), and both China regions (their own accounts; the China job
  was skipped for some releases, PR 744/746, so their numbers need not match).

To add or correct a number: check it exists (``aws lambda get-layer-version-by-arn --region <r> --arn
<arn>``), edit :data:`LWA_LAYERS` and the test keeps every entry honest. A single deployment can also
name its layer with ``-c lwa_layer_arn=<arn>``.
"""

from __future__ import annotations

from typing import Final, Literal

from aws_cdk import Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import Construct

from .config import ConfigError

Architecture = Literal["arm64", "x86_64"]

#: The adapter release the data below describes, and when it was checked against the sources.
LWA_RELEASE: Final = "v1.1.0"
LWA_LAYERS_CHECKED: Final = "2026-11-30"
#: The first release with the SnapStart bridge (AWS_LWA_SNAPSTART_*_PATH, PR 837).
LWA_SNAPSTART_RELEASE: Final = "v1.1.0"

LWA_LAYER_NAMES: Final[dict[Architecture, str]] = {
    "arm64": "LambdaAdapterLayerArm64",
    "x86_64": "LambdaAdapterLayerX86",
}
#: Publisher account per partition; the China regions each have their own.
LWA_COMMERCIAL_ACCOUNT: Final = "753240598075"
LWA_CHINA_ACCOUNTS: Final[dict[str, str]] = {"cn-north-1": "041581134020", "cn-northwest-1": "069767869989"}

_BOTH_30: Final[dict[Architecture, int | None]] = {"arm64": 30, "x86_64": 30}
_X86_30_ARM_UNNUMBERED: Final[dict[Architecture, int | None]] = {"arm64": None, "x86_64": 30}
_UNNUMBERED: Final[dict[Architecture, int | None]] = {"arm64": None, "x86_64": None}

#: Region -> architecture -> layer version of :data:`LWA_RELEASE` there; ``None``: published there, but
#: the number is not documented (synthesis asks for ``-c lwa_layer_arn``). A region not listed has no
#: layer of this release at all.
LWA_LAYERS: Final[dict[str, dict[Architecture, int | None]]] = {
    # In the pipeline for both architectures since 2022 (arm64 since 2023-08 in some): number 30.
    "af-south-1": _BOTH_30,
    "ap-east-1": _BOTH_30,
    "ap-northeast-1": _BOTH_30,
    "ap-northeast-2": _BOTH_30,
    "ap-northeast-3": _BOTH_30,
    "ap-south-1": _BOTH_30,
    "ap-southeast-1": _BOTH_30,
    "ap-southeast-2": _BOTH_30,
    "ap-southeast-3": _BOTH_30,
    "ca-central-1": _BOTH_30,
    "eu-central-1": _BOTH_30,
    "eu-north-1": _BOTH_30,
    "eu-south-1": _BOTH_30,
    "eu-west-1": _BOTH_30,
    "eu-west-2": _BOTH_30,
    "eu-west-3": _BOTH_30,
    "sa-east-1": _BOTH_30,
    "us-east-1": _BOTH_30,
    "us-east-2": _BOTH_30,
    "us-west-1": _BOTH_30,
    "us-west-2": _BOTH_30,
    # x86_64 since 2023-08 (number 30); arm64 only since 2025-11-17: number not documented.
    "ap-south-2": _X86_30_ARM_UNNUMBERED,
    "ap-southeast-4": _X86_30_ARM_UNNUMBERED,
    "eu-central-2": _X86_30_ARM_UNNUMBERED,
    "eu-south-2": _X86_30_ARM_UNNUMBERED,
    # In the pipeline since 2026-02-10: numbers not documented.
    "ap-east-2": _UNNUMBERED,
    "ap-southeast-5": _UNNUMBERED,
    "ap-southeast-6": _UNNUMBERED,
    "ap-southeast-7": _UNNUMBERED,
    "ca-west-1": _UNNUMBERED,
    "il-central-1": _UNNUMBERED,
    "mx-central-1": _UNNUMBERED,
    # China: published by the China pipeline under their own accounts; numbers not documented.
    "cn-north-1": _UNNUMBERED,
    "cn-northwest-1": _UNNUMBERED,
}

#: Regions dropped from the adapter's pipeline before this release (their last layers are older).
LWA_DROPPED_REGIONS: Final[dict[str, str]] = {
    "me-south-1": "dropped from the adapter's release pipeline on 2026-03-27 (PR 691)",
    "me-central-1": "dropped from the adapter's release pipeline on 2026-05-28 (PR 744)",
}


class WebAdapterLayerError(ConfigError):
    """No known Lambda Web Adapter layer for the target region and architecture."""


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws"


def layer_arn_for(region: str, architecture: Architecture, version: int) -> str:
    """The adapter layer ARN of ``version`` in ``region`` (the publisher account of its partition)."""
    account = LWA_CHINA_ACCOUNTS.get(region, LWA_COMMERCIAL_ACCOUNT)
    name = LWA_LAYER_NAMES[architecture]
    return f"arn:{_partition(region)}:lambda:{region}:{account}:layer:{name}:{version}"


def lwa_layer_arn(region: str, architecture: Architecture) -> str:
    """The :data:`LWA_RELEASE` layer ARN for a concrete region, or :class:`WebAdapterLayerError`."""
    if architecture not in LWA_LAYER_NAMES:
        raise WebAdapterLayerError(f"unknown architecture {architecture!r}; one of {sorted(LWA_LAYER_NAMES)}")
    versions = LWA_LAYERS.get(region)
    if versions is None:
        why = LWA_DROPPED_REGIONS.get(region, "not among the regions the adapter publishes to")
        raise WebAdapterLayerError(
            f"no Lambda Web Adapter {LWA_RELEASE} layer for {region}: {why}. Publish the adapter's layer "
            f"in your account (its release zip, or a copy of the layer from another region) and synthesize "
            f"with -c lwa_layer_arn=<that layer version's ARN>, or deploy to another region."
        )
    version = versions[architecture]
    if version is None:
        name = LWA_LAYER_NAMES[architecture]
        probe = layer_arn_for(region, architecture, 30).rsplit(":", 1)[0]
        raise WebAdapterLayerError(
            f"the Lambda Web Adapter {LWA_RELEASE} layer for {architecture} is published in {region}, but "
            f"under a version number no source documents (layer versions count per region). Find it with "
            f"`aws lambda get-layer-version-by-arn --region {region} --arn {probe}:<n>` (the n whose "
            f"Description ends in {LWA_RELEASE.lstrip('v')}), then synthesize with "
            f"-c lwa_layer_arn={probe}:<n>, or record it for {name} in LWA_LAYERS in "
            f"cdk/task_assistant_cdk/web_adapter.py."
        )
    return layer_arn_for(region, architecture, version)


def numbered_regions(architecture: Architecture) -> dict[str, str]:
    """Region -> ARN, for every region where :data:`LWA_LAYERS` knows the number for ``architecture``."""
    return {
        region: layer_arn_for(region, architecture, version)
        for region, versions in sorted(LWA_LAYERS.items())
        if (version := versions[architecture]) is not None
    }


def web_adapter_layer_arn(scope: Construct, architecture: Architecture) -> str:
    """The adapter layer ARN for the stack of ``scope``.

    A stack with a concrete region (``cdk deploy`` with credentials or a profile sets it) gets the ARN
    at synthesis, or :class:`WebAdapterLayerError`. An environment-agnostic stack (CI, offline) gets a
    CloudFormation mapping of every numbered region and a rule that refuses any other region before
    CloudFormation creates anything, with the same instructions.
    """
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        return lwa_layer_arn(stack.region, architecture)
    arns = numbered_regions(architecture)
    mapping = CfnMapping(
        stack,
        "WebAdapterLayers",
        mapping={region: {"arn": arn} for region, arn in arns.items()},
    )
    CfnRule(
        stack,
        "WebAdapterLayerRegion",
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_contains(list(arns), Aws.REGION),
                assert_description=(
                    f"This template knows the Lambda Web Adapter {LWA_RELEASE} layer ({architecture}) only "
                    f"in {', '.join(arns)}. Synthesize for your region (cdk deploy with its credentials) "
                    f"to see why, or with -c lwa_layer_arn=<layer version ARN in your region>."
                ),
            )
        ],
    )
    return mapping.find_in_map(Aws.REGION, "arn")

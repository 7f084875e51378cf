"""The Lambda Web Adapter layer versions, per region and architecture: data, no CDK.

Used by :mod:`.web_adapter` (the ARN a stack attaches) and :mod:`.web_adapter_lookup` (finding a
number this data lacks, with your credentials).

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

To add or correct a number: find it with ``make lwa-layer REGION=<r> ARCH=<a>`` (or check one with
``aws lambda get-layer-version-by-arn --region <r> --arn <arn>``), edit :data:`LWA_LAYERS` and the test
keeps every entry honest. A single deployment can also name its layer with ``-c lwa_layer_arn=<arn>``.
"""

from __future__ import annotations

from typing import Final, Literal

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


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws"


def layer_arn_for(
    region: str, architecture: Architecture, version: int, *, account: str | None = None
) -> str:
    """The adapter layer ARN of ``version`` in ``region`` (``account``: default, the publisher account of
    the region's partition)."""
    account = account or LWA_CHINA_ACCOUNTS.get(region, LWA_COMMERCIAL_ACCOUNT)
    name = LWA_LAYER_NAMES[architecture]
    return f"arn:{_partition(region)}:lambda:{region}:{account}:layer:{name}:{version}"


def numbered_regions(architecture: Architecture) -> dict[str, str]:
    """Region -> ARN, for every region where :data:`LWA_LAYERS` knows the number for ``architecture``."""
    return {
        region: layer_arn_for(region, architecture, version)
        for region, versions in sorted(LWA_LAYERS.items())
        if (version := versions[architecture]) is not None
    }

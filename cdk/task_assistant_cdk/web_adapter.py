"""The Lambda Web Adapter layer a stack attaches: the ARN for its region and architecture, or a clear error.

The numbers are data in :mod:`.web_adapter_layers` (sources and dates there); a region whose number is
not known fails synthesis at once, saying how to find it (:mod:`.web_adapter_lookup`) and how to pass it.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import Construct

from .config import ConfigError
from .web_adapter_layers import (
    LWA_CHINA_ACCOUNTS,
    LWA_COMMERCIAL_ACCOUNT,
    LWA_DROPPED_REGIONS,
    LWA_LAYER_NAMES,
    LWA_LAYERS,
    LWA_LAYERS_CHECKED,
    LWA_RELEASE,
    LWA_SNAPSTART_RELEASE,
    Architecture,
    layer_arn_for,
    numbered_regions,
)

__all__ = [
    "LWA_CHINA_ACCOUNTS",
    "LWA_COMMERCIAL_ACCOUNT",
    "LWA_DROPPED_REGIONS",
    "LWA_LAYERS",
    "LWA_LAYERS_CHECKED",
    "LWA_LAYER_NAMES",
    "LWA_RELEASE",
    "LWA_SNAPSTART_RELEASE",
    "Architecture",
    "WebAdapterLayerError",
    "layer_arn_for",
    "lwa_layer_arn",
    "numbered_regions",
    "web_adapter_layer_arn",
]


class WebAdapterLayerError(ConfigError):
    """No known Lambda Web Adapter layer for the target region and architecture."""


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
            f"`make lwa-layer REGION={region} ARCH={architecture}` (any AWS credentials; it reads the "
            f"adapter's public layers), or by hand with `aws lambda get-layer-version-by-arn --region "
            f"{region} --arn {probe}:<n>` (the n whose Description ends in {LWA_RELEASE.lstrip('v')}); then "
            f"synthesize with -c lwa_layer_arn={probe}:<n>, or record it for {name} in LWA_LAYERS in "
            f"cdk/task_assistant_cdk/web_adapter_layers.py."
        )
    return layer_arn_for(region, architecture, version)


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

"""cdk-nag 3.x acknowledgements: every one carries its reason where the resource is defined."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

#: cdk-nag reports under the plugin name; acknowledgements use ``<plugin>::<rule>``.
PLUGIN = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` and its children.

    The reason is mandatory and lands in the construct metadata (and so in the audit trail
    of the cloud assembly).
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledging {rule} needs a real reason, got {reason!r}")
    rule_id = rule if "::" in rule.split("[")[0] else f"{PLUGIN}::{rule}"
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))

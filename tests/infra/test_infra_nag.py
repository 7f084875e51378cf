"""cdk-nag AwsSolutions checks: clean for every environment, every acknowledgement with a reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import App, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from support.infra import Synthesized, synth_app

pytestmark = pytest.mark.timeout(600)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_no_unacknowledged_findings(synthesize: Callable[..., Synthesized], env: str) -> None:
    synth = synthesize(env)  # synthesis itself raises on any unacknowledged finding
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    failures = [
        violation
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
        if violation.get("severity") == "error"
    ]
    assert failures == []


def _acknowledgements(app_or_stack: IConstruct) -> dict[str, dict[str, str]]:
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found: dict[str, dict[str, str]] = {}
    for construct in app_or_stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                found.setdefault(construct.node.path, {}).update(entry.data)
    return found


def test_every_acknowledgement_names_a_rule_and_gives_a_reason(dev: Synthesized, prod: Synthesized) -> None:
    for synth in (dev, prod):
        acks = _acknowledgements(synth.stack)
        assert acks, "expected the documented acknowledgements"
        for path, rules in acks.items():
            for rule, reason in rules.items():
                assert rule.startswith("AwsSolutions::AwsSolutions-"), (path, rule)
                assert len(reason) >= 40, f"{path}: {rule} needs a real reason, got {reason!r}"


def test_dev_only_acknowledges_pitr_because_prod_enables_it(dev: Synthesized, prod: Synthesized) -> None:
    def rules(synth: Synthesized) -> set[str]:
        return {rule for r in _acknowledgements(synth.stack).values() for rule in r}

    assert "AwsSolutions::AwsSolutions-DDB3" in rules(dev)
    assert "AwsSolutions::AwsSolutions-DDB3" not in rules(prod)


def test_checks_are_wired_into_the_app(placeholder_layer: Path, tmp_path: Path) -> None:
    """A resource that breaks an AwsSolutions rule fails synthesis of the real app."""
    app: App
    app, stack = synth_app({"env": "dev", "layer_dir": str(placeholder_layer)}, tmp_path)
    s3.Bucket(stack, "Careless", enforce_ssl=False)  # no TLS enforcement, no access logs
    with pytest.raises(Exception, match="ValidationFailed") as info:
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules, info.value

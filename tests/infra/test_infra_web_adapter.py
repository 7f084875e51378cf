"""The Lambda Web Adapter layer, per region and architecture, from the data in ``web_adapter_layers.py``.

Every region in the data is checked: it either resolves to the ARN of its own number, or synthesis stops
with what to do. Both synthesis paths are covered: a concrete region (``cdk deploy`` with credentials;
the CLI defaults to one) and an environment-agnostic template (mapping plus a rule).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from support.infra import Synthesized, load_cdk_app_module, synth_app
from task_assistant_cdk import web_adapter, web_adapter_layers
from task_assistant_cdk.web_adapter import (
    LWA_CHINA_ACCOUNTS,
    LWA_COMMERCIAL_ACCOUNT,
    LWA_DROPPED_REGIONS,
    LWA_LAYER_NAMES,
    LWA_LAYERS,
    WebAdapterLayerError,
    lwa_layer_arn,
    numbered_regions,
)

pytestmark = pytest.mark.timeout(600)

ARCHITECTURES = ("arm64", "x86_64")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("region", sorted(LWA_LAYERS))
def test_every_region_in_the_data_resolves_or_says_what_to_do(region: str, architecture: Any) -> None:
    version = LWA_LAYERS[region][architecture]
    name = LWA_LAYER_NAMES[architecture]
    if version is None:
        with pytest.raises(WebAdapterLayerError) as info:
            lwa_layer_arn(region, architecture)
        message = str(info.value)
        assert region in message and name in message
        assert "-c lwa_layer_arn=" in message and "get-layer-version-by-arn" in message
        assert f"make lwa-layer REGION={region} ARCH={architecture}" in message
        return
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    account = LWA_CHINA_ACCOUNTS.get(region, LWA_COMMERCIAL_ACCOUNT)
    assert lwa_layer_arn(region, architecture) == (
        f"arn:{partition}:lambda:{region}:{account}:layer:{name}:{version}"
    )


def test_the_data_matches_its_sources() -> None:
    """v1.1.0 went to 32 commercial regions and both China regions; every known number is 30."""
    commercial = [r for r in LWA_LAYERS if not r.startswith("cn-")]
    assert len(commercial) == 32 and set(LWA_LAYERS) - set(commercial) == set(LWA_CHINA_ACCOUNTS)
    assert {v for versions in LWA_LAYERS.values() for v in versions.values() if v is not None} == {30}
    assert not set(LWA_DROPPED_REGIONS) & set(LWA_LAYERS)
    # arm64 in 21 regions since 2023-08 or earlier; x86_64 in those and the four added in 2023-08.
    assert len(numbered_regions("arm64")) == 21 and len(numbered_regions("x86_64")) == 25
    assert set(numbered_regions("arm64")) < set(numbered_regions("x86_64"))


@pytest.mark.parametrize("region", [*LWA_DROPPED_REGIONS, "us-gov-west-1", "eusc-de-east-1"])
def test_regions_without_the_release_fail_with_instructions(region: str) -> None:
    with pytest.raises(WebAdapterLayerError) as info:
        lwa_layer_arn(region, "arm64")
    message = str(info.value)
    assert region in message and "-c lwa_layer_arn=" in message
    if region in LWA_DROPPED_REGIONS:
        assert "dropped from the adapter's release pipeline" in message


def test_environment_agnostic_template_maps_every_numbered_region_and_refuses_the_rest(
    dev: Synthesized,
) -> None:
    arns = numbered_regions("arm64")
    assert dev.raw["Mappings"]["WebAdapterLayers"] == {region: {"arn": arn} for region, arn in arns.items()}
    layer = dev.raw["Resources"]["StreamingFunction"]["Properties"]["Layers"][1]
    assert layer == {"Fn::FindInMap": ["WebAdapterLayers", {"Ref": "AWS::Region"}, "arn"]}
    (assertion,) = dev.raw["Rules"]["WebAdapterLayerRegion"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Contains": [list(arns), {"Ref": "AWS::Region"}]}
    assert "-c lwa_layer_arn=" in assertion["AssertDescription"]


def _synth_in(
    region: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placeholder: Path, **ctx: Any
) -> Any:
    monkeypatch.setenv("CDK_DEFAULT_REGION", region)
    app, stack = synth_app({"env": "dev", "layer_dir": str(placeholder), **ctx}, tmp_path)
    app.synth()
    return json.loads((tmp_path / f"{stack.stack_name}.template.json").read_text())


def test_a_concrete_region_gets_its_own_arn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placeholder_layer: Path
) -> None:
    template = _synth_in("eu-west-1", tmp_path, monkeypatch, placeholder_layer)
    layers = template["Resources"]["StreamingFunction"]["Properties"]["Layers"]
    assert layers[1] == "arn:aws:lambda:eu-west-1:753240598075:layer:LambdaAdapterLayerArm64:30"
    assert "WebAdapterLayers" not in template.get("Mappings", {})
    assert "WebAdapterLayerRegion" not in template.get("Rules", {})


def test_a_region_without_a_known_number_stops_synthesis(
    monkeypatch: pytest.MonkeyPatch,
    placeholder_layer: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``cdk synth`` in ap-east-2: exit status 1 and the instructions, before any template is written."""
    monkeypatch.setenv("CDK_DEFAULT_REGION", "ap-east-2")
    app = App(context={"env": "dev", "layer_dir": str(placeholder_layer)}, outdir=str(tmp_path))
    assert load_cdk_app_module().main(app) == 1
    assert not list(tmp_path.glob("*.template.json")) and not (tmp_path / "manifest.json").exists()
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "ap-east-2" in error and "-c lwa_layer_arn=" in error


def test_lwa_layer_arn_overrides_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placeholder_layer: Path
) -> None:
    own = "arn:aws:lambda:me-south-1:123456789012:layer:LambdaAdapterCopy:1"
    template = _synth_in("me-south-1", tmp_path, monkeypatch, placeholder_layer, lwa_layer_arn=own)
    assert template["Resources"]["StreamingFunction"]["Properties"]["Layers"][1] == own


def test_the_module_documents_its_sources_and_date() -> None:
    doc = web_adapter_layers.__doc__ or ""
    assert web_adapter.LWA_LAYERS_CHECKED in doc and ".github/workflows/prod.json" in doc
    assert "PR 871" in doc and "PR 837" in doc

"""`archspec list PATTERN --format json`: every field checked against a source other than the code listing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.paths import SPECS

# keras.applications' EfficientNet constructors: (default input size, count_params()) as Keras documents them
KERAS = {
    "efficientnet_b0": (224, 5_330_571), "efficientnet_b1": (240, 7_856_239), "efficientnet_b2": (260, 9_177_569),
    "efficientnet_b3": (300, 12_320_535), "efficientnet_b4": (380, 19_466_823),
    "efficientnet_b5": (456, 30_562_527), "efficientnet_b6": (528, 43_265_143),
    "efficientnet_b7": (600, 66_658_687), "efficientnet_v2_b0": (224, 7_200_312),
    "efficientnet_v2_b1": (240, 8_212_124), "efficientnet_v2_b2": (260, 10_178_374),
    "efficientnet_v2_b3": (300, 14_467_622), "efficientnet_v2_s": (384, 21_612_360),
    "efficientnet_v2_m": (480, 54_431_388), "efficientnet_v2_l": (480, 119_027_848),
}
# FLOPs (multiply-adds) the papers give: Tan & Le 2019 table 2, Tan & Le 2021 table 7; (value, tolerance)
PAPER_MACS = {
    "efficientnet_b0": 0.39e9, "efficientnet_b1": 0.70e9, "efficientnet_b2": 1.0e9, "efficientnet_b3": 1.8e9,
    "efficientnet_b4": 4.2e9, "efficientnet_b5": 9.9e9, "efficientnet_b6": 19e9, "efficientnet_b7": 37e9,
    "efficientnet_v2_b0": 0.72e9, "efficientnet_v2_b1": 1.2e9, "efficientnet_v2_b2": 1.7e9,
    "efficientnet_v2_b3": 3.0e9, "efficientnet_v2_s": 8.8e9, "efficientnet_v2_m": 24e9, "efficientnet_v2_l": 53e9,
}


def archspec_json(*args: str) -> subprocess.CompletedProcess:
    code = ("import sys; from archspec.cli import main; rc = main(sys.argv[1:]); "
            "assert not {'tensorflow', 'keras', 'torch', 'jax'} & set(sys.modules), 'imported a backend'; "
            "raise SystemExit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def efficientnets() -> dict[str, dict]:
    proc = archspec_json("list", "efficientnet*", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {row["name"]: row for row in json.loads(proc.stdout)}


def raw(name: str, key: str):
    """A top-level value as the YAML files say it, following ``extends`` (plain yaml, not archspec's loader)."""
    data = yaml.safe_load((SPECS / f"{name}.yaml").read_text())
    if key in data or "extends" not in data:
        return data.get(key)
    return raw(Path(data["extends"]).stem, key)


def test_the_pattern_selects_exactly_the_efficientnets(efficientnets):
    assert sorted(efficientnets) == sorted(p.stem for p in SPECS.glob("efficientnet*.yaml"))
    assert set(KERAS) <= set(efficientnets)


def test_params_and_input_size_are_keras_applications(efficientnets):
    for name, (size, params) in KERAS.items():
        assert efficientnets[name]["params"] == params, name
        assert efficientnets[name]["input"] == [size, size, 3], name


def test_macs_at_the_default_size_are_the_papers(efficientnets):
    for name, macs in PAPER_MACS.items():
        tolerance = 0.1 if name.endswith(("_s", "_m", "_l")) else 0.05  # V2 S/M/L: the paper's sizes differ a bit
        assert efficientnets[name]["macs"] == pytest.approx(macs, rel=tolerance), name


def test_family_weights_checkpoint_and_taps_are_what_the_files_declare(efficientnets):
    for name, row in efficientnets.items():
        assert row["family"] == ("efficientnet_v2" if "_v2_" in name else "efficientnet")
        assert row["published"] == sorted(raw(name, "published") or {})
        assert row["checkpoint"] == ([raw(name, "checkpoint")] if raw(name, "checkpoint") else [])
        assert [tap["level"] for tap in row["features"]] == ["P1", "P2", "P3", "P4", "P5"]  # block outputs
        assert [tap["reduction"] for tap in row["features"]] == [2, 4, 8, 16, 32]
    assert all(row["published"] == ["imagenet"] for row in efficientnets.values())


def test_checkpoint_family_and_several_patterns():
    proc = archspec_json("list", "resnet18", "*101_torch", "--format", "json")
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert sorted(rows) == ["resnet101_torch", "resnet18"]
    assert rows["resnet18"]["checkpoint"] == ["torchvision"] and rows["resnet18"]["family"] == "resnet"
    assert rows["resnet101_torch"]["family"] == "resnet"  # extends resnext50_32x4d, which imports lib/resnet.yaml
    # torchvision's 11,689,512 parameters plus the 2 x 4,800 BatchNorm moving statistics Keras counts as params
    assert rows["resnet18"]["params"] == 11_689_512 + 9_600


def test_a_pattern_matching_nothing_is_an_error_naming_it():
    proc = archspec_json("list", "resnet*", "effnet*")
    assert proc.returncode == 1 and "no bundled spec matches 'effnet*'" in proc.stderr and not proc.stdout


def test_the_table_has_a_line_per_match():
    proc = archspec_json("list", "vgg1[69]")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and lines[0].split()[:3] == ["spec", "family", "params"]
    assert [line.split()[0] for line in lines[1:]] == ["vgg16", "vgg19"]
    assert "138,357,544" in lines[1]  # keras.applications.VGG16().count_params()


def test_feature_taps_are_timms_feature_info(efficientnets):
    """timm's features_only models report these channels at reductions 2..32 (``feature_info.channels()``)."""
    assert [tap["channels"] for tap in efficientnets["efficientnet_b0"]["features"]] == [16, 24, 40, 112, 320]
    assert [tap["channels"] for tap in efficientnets["efficientnet_v2_b0"]["features"]] == [16, 32, 48, 112, 192]
    assert efficientnets["efficientnet_b0"]["features"][-1]["layer"] == "block7a_project_bn"


def test_input_multiples_are_what_the_files_declare():
    """`input_multiple` (sizes the decoder needs) as the YAML files say it, following extends; '(32n)' in the
    table. yolov8s inherits yolov8n's; fpn_resnet34, unet_resnet34's."""
    proc = archspec_json("list", "*unet*", "*fpn*", "yolov8*", "resnet34", "--format", "json")
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert sorted(rows) == ["fpn_resnet34", "resnet34", "resnet50_fpn_backbone", "unet_resnet34", "yolov8n", "yolov8s"]
    for name, row in rows.items():
        assert row["input_multiple"] == raw(name, "input_multiple"), name
    assert rows["resnet34"]["input_multiple"] is None and rows["yolov8s"]["input_multiple"] == 32
    table = archspec_json("list", "fpn_resnet34", "resnet34").stdout.splitlines()
    assert "256x256x3 (32n)" in table[1] and "(32n)" not in table[2]

"""Feature taps (``tap: true``, graph/features.py) and ``build(features=...)`` on the bundled backbones."""

from __future__ import annotations

from pathlib import Path

import pytest

from archspec.api import feature_layers, layer_graph
from archspec.errors import SpecError
from archspec.export.summary import format_table, summarize
from archspec.graph.features import feature_taps
from archspec.lang.compose import load_spec
from tests.support import paths

SPECS = sorted(p.stem for p in paths.SPECS.glob("*.yaml"))
# the classifiers: their top ends in a vector (the dense-prediction specs end in maps, or in several outputs)
CLASSIFIERS = [s for s in SPECS if not (g := layer_graph(s)).outputs and len(g.output_layer.shape) == 1]
SHALLOW = {"squeezenet1_0": {"P5"}, "squeezenet1_1": {"P5"}}  # SqueezeNet reduces by 16 at most: no P5
RESNET50_STAGES = {"P2": "conv2_block3_out", "P3": "conv3_block4_out", "P4": "conv4_block6_out",
                   "P5": "conv5_block3_out"}  # keras.applications' stage outputs (keras-hub's pyramid_outputs)


def test_the_classifiers_are_the_zoo_less_the_dense_networks() -> None:
    assert len(CLASSIFIERS) >= 75 and not {"fcn_resnet50", "unet_resnet34", "yolov8n"} & set(CLASSIFIERS)


@pytest.mark.parametrize("spec", CLASSIFIERS)
def test_every_bundled_classifier_declares_its_pyramid(spec: str) -> None:
    """Graph only: P3, P4 and P5 exist; each level's map is the input divided by 2^k (less a few pixels where
    'valid' windows trim it); the deepest level is the backbone's last feature map (or, where a spec ends
    with a 1x1 head convolution, as EfficientNet and MobileNet do, one of the same size)."""
    loaded = load_spec(spec)
    height = loaded.data["input"][0]
    graph = layer_graph(loaded, include_top=False)
    taps = feature_taps(graph)
    assert {"P3", "P4", "P5"} - set(taps) == SHALLOW.get(spec, set()), taps
    for level, tap in taps.items():
        k = int(level[1:])
        assert tap.reduction == 2 ** k
        assert height / 2 ** k - 4 <= tap.layer.shape[0] <= -(-height // 2 ** k), (level, tap.layer.name)
        assert tap.channels == tap.layer.shape[2]
        assert tap.layer.nested_in is None
    assert taps[max(taps)].layer.shape[:2] == graph.output_layer.shape[:2]
    levels = [int(level[1:]) for level in taps]
    assert levels == list(range(levels[0], levels[-1] + 1))  # no gap between the shallowest and P5


def test_resnet50_taps_are_the_stage_outputs() -> None:
    assert {k: v for k, v in feature_layers("resnet50").items() if k != "P1"} == RESNET50_STAGES
    assert feature_layers("resnet50", ["P5", "P3"]) == {"P5": "conv5_block3_out", "P3": "conv3_block4_out"}
    text = format_table(summarize(layer_graph("resnet50")))
    assert "feature P3: 28x28x512 (conv3_block4_out, reduction 8)" in text


def test_unknown_level_is_a_located_error() -> None:
    with pytest.raises(SpecError, match=r"resnet50.yaml:\d+:\d+: error: 'resnet50' has no feature level 'P7' "
                       r"\(its levels: P1, P2, P3, P4, P5\)"):
        feature_layers("resnet50", ["P7"])


def test_resnet50_features_equal_keras_applications(tmp_path: Path) -> None:
    """The same weights (random, BN statistics too) give the same P2..P5 as keras.applications' ResNet50's
    conv2_block3_out .. conv5_block3_out, at two input sizes."""
    import keras
    import numpy as np

    import archspec
    from tests.support.reference import max_rel_error, randomize_weights, write_legacy_h5

    ref = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(None, None, 3))
    randomize_weights(ref, seed=23)
    write_legacy_h5(ref, tmp_path / "r.h5")
    ours = archspec.build("resnet50", features=["P2", "P3", "P4", "P5"], weights=str(tmp_path / "r.h5"))
    assert list(ours.output) == ["P2", "P3", "P4", "P5"]
    taps = keras.Model(ref.input, {k: ref.get_layer(v).output for k, v in RESNET50_STAGES.items()})
    rng = np.random.default_rng(0)
    for size in (64, 96):
        x = rng.normal(size=(2, size, size, 3)).astype("float32")
        got, want = ours(x), taps(x)
        for level in RESNET50_STAGES:
            assert max_rel_error(got[level], want[level]) < 1e-4, level
        assert got["P5"].shape[1] == size // 32
    spread = np.abs(np.asarray(want["P5"][0]) - np.asarray(want["P5"][1])).max()
    assert spread > 1e-3  # two inputs give different features: the comparison can fail


def test_cli_build_features(cli) -> None:
    code, out, _ = cli("build", "resnet18", "--features", "P3,P5", "--input-shape", "64,64,3")
    assert code == 0
    assert "outputs P3 (None, 8, 8, 128), P5 (None, 2, 2, 512)" in out
    code, _, err = cli("build", "resnet18", "--features", "P9")
    assert code == 1
    assert "'resnet18' has no feature level 'P9' (its levels: P1, P2, P3, P4, P5)" in err

"""specs/xception.yaml against keras.applications.Xception.

Why: the spec must load the published ImageNet ``.h5`` files, which keras.applications loads by order;
users also load them by name. A seeded random reference written in the legacy layout stands in for the
published files. The reference leaves its shortcut convolutions, their batch norms and the adds unnamed,
so those names agree only if archspec creates them in the reference's order; the reference is built
right after ``keras.backend.clear_session()`` (a fresh process).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from tests.support.reference import graph_counts, reference_case

NAME = "xception"
TINY = (71, 71, 3)   # keras.applications' minimum input: 3x3x2048 after block14
WEIGHTED, PARAMS = 81, 22_910_480   # keras.applications at 299x299 with the top

_Case = reference_case({NAME: keras.applications.Xception})


def _suffix(k: int) -> str:
    return f"_{k}" if k else ""


def test_counts_and_auto_names_at_299_from_the_pure_python_graph():
    graph = archspec.expand(NAME)
    assert graph_counts(graph) == (WEIGHTED, PARAMS)
    nodes = list(graph.nodes.values())
    # four strided 1x1 shortcut projections (block2, 3, 4, 13) and twelve adds, all auto-named
    auto = [(d["name"], d["block"]) for d in nodes if d.get("auto_named") and d["op"] != "input"]
    shortcuts = ["block2", "block3", "block4", "block13"]
    assert [a for a in auto if a[0].startswith("conv2d")] == [
        (f"conv2d{_suffix(k)}", b) for k, b in enumerate(shortcuts)]
    assert [a for a in auto if a[0].startswith("batch_norm")] == [
        (f"batch_normalization{_suffix(k)}", b) for k, b in enumerate(shortcuts)]
    adds = ["block2", "block3", "block4"] + [f"block{n}" for n in range(5, 14)]
    assert [a for a in auto if a[0].startswith("add")] == [(f"add{_suffix(k)}", b) for k, b in enumerate(adds)]
    assert len(auto) == 4 + 4 + 12
    separable = [d for d in nodes if d["op"] == "separable_conv2d"]
    assert len(separable) == 34 and all(not d["attrs"]["use_bias"] for d in separable)
    by_name = {d["name"]: d for d in nodes}
    assert by_name["block4_pool"]["shape"] == (19, 19, 728)
    assert by_name["block13_sepconv2"]["shape"] == (19, 19, 1024)
    assert by_name["block14_sepconv2_act"]["shape"] == (10, 10, 2048)
    assert "block2_sepconv1_act" not in by_name and "block14_sepconv3_act" not in by_name


@pytest.mark.parametrize("pooling, name", [("avg", "global_average_pooling2d"), ("max", "global_max_pooling2d")])
def test_pooling_heads_are_auto_named_like_the_reference(pooling, name):
    graph = archspec.expand(NAME, include_top=False, pooling=pooling)
    out = graph.nodes[graph.graph["output"]]
    assert out["name"] == name and out["shape"] == (2048,)
    assert graph_counts(graph) == (WEIGHTED - 1, PARAMS - (2048 + 1) * 1000)


def test_separable_conv_macs_are_depthwise_plus_pointwise():
    """Paper, section 3: a depthwise separable convolution costs k*k*C + C*F multiply-adds per output
    position (here block5_sepconv1: 3x3 depthwise on 728 channels, then 1x1 728 -> 728, on 19x19)."""
    node = next(d for d in archspec.expand(NAME).nodes.values() if d["name"] == "block5_sepconv1")
    assert node["macs"] == 19 * 19 * (3 * 3 * 728 + 728 * 728)
    assert [w.shape for w in node["weights"]] == [(3, 3, 728, 1), (1, 1, 728, 728)]


def test_preprocessing_is_keras_tf_mode():
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = keras.applications.xception.preprocess_input(images.copy())
    np.testing.assert_allclose(archspec.preprocess(NAME, images), expected, rtol=1e-6)


@pytest.fixture(scope="module")
def top(tmp_path_factory):
    return _Case(NAME, TINY, tmp_path_factory.mktemp(NAME))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_matches_reference(top, by_name):
    top.check(top.build(by_name))


def test_headless_max_pooling(tmp_path):
    case = _Case(NAME, TINY, tmp_path, include_top=False, pooling="max")
    case.check(case.build(by_name=True))

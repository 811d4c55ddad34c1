"""DenseNet121/169/201 specs against keras.applications: counts, layer names/order, and weights.

Why: the specs must load the published ImageNet ``.h5`` files, which keras.applications loads by order;
users also load them by name. A seeded random reference written in the legacy layout stands in for the
published files: our model must compute the reference's function after loading it either way.
"""

from __future__ import annotations

import keras
import pytest

import archspec
from archspec.graph.order import keras_layer_order
from tests.support.reference import graph_counts, reference_case

SMALL = (64, 64, 3)   # smallest size that keeps a 2x2 map after the /32 downsampling
TINY = (32, 32, 3)    # DenseNet's minimum input: 1x1 after conv5

REFERENCES = {
    "densenet121": keras.applications.DenseNet121,
    "densenet169": keras.applications.DenseNet169,
    "densenet201": keras.applications.DenseNet201,
}
# From keras.applications at 224x224 with the top: layers with weights, parameters.
COUNTS = {
    "densenet121": (242, 8_062_504),
    "densenet169": (338, 14_307_880),
    "densenet201": (402, 20_242_984),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_at_224_from_the_pure_python_graph(name):
    assert graph_counts(archspec.expand(name)) == COUNTS[name]


def test_block_counts_change_only_depth():
    """169/201 extend 121: same stem, transitions and head, only the dense-block lengths differ."""
    for name, (conv4, conv5) in {"densenet169": (32, 32), "densenet201": (48, 32)}.items():
        graph = archspec.expand(name)
        blocks = {d["block"] for d in graph.nodes.values()}
        assert {b for b in blocks if b.startswith("conv4_block")} == {f"conv4_block{i}" for i in range(1, conv4 + 1)}
        assert {b for b in blocks if b.startswith("conv5_block")} == {f"conv5_block{i}" for i in range(1, conv5 + 1)}


_Case = reference_case(REFERENCES)


@pytest.fixture(scope="module")
def densenet121_top(tmp_path_factory):
    return _Case("densenet121", SMALL, tmp_path_factory.mktemp("densenet121"))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_densenet121_matches_reference(densenet121_top, by_name):
    densenet121_top.check(densenet121_top.build(by_name))


def test_pure_python_order_matches_keras(densenet121_top):
    """The graph's own order (used to match weight files before Keras exists) is Keras's order."""
    graph = archspec.api.layer_graph("densenet121", input_shape=SMALL)
    names = [graph.layers[n].name for n in keras_layer_order(graph)]
    assert names == [layer.name for layer in densenet121_top.ref.layers]
    assert names[1] == "zero_padding2d" and names[5] == "zero_padding2d_1"


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_densenet121_pooling_heads(tmp_path, pooling):
    case = _Case("densenet121", TINY, tmp_path, include_top=False, pooling=pooling)
    case.check(case.build(by_name=True))


@pytest.fixture(scope="module", params=["densenet169", "densenet201"])
def deeper(request, tmp_path_factory):
    """The extended specs, headless (pooling=None) at the minimum input to keep the test fast."""
    return _Case(request.param, TINY, tmp_path_factory.mktemp(request.param), include_top=False)


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_deeper_densenets_match_reference(deeper, by_name):
    deeper.check(deeper.build(by_name))

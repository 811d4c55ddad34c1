"""ResNet50V2/101V2/152V2 specs against keras.applications: counts, layer names/order, and weights.

Why: the specs must load the published ImageNet ``.h5`` files by order (as keras.applications does) and
by name. A seeded random reference written in the legacy layout stands in for the published files.
"""

from __future__ import annotations

import keras
import pytest

import archspec
from archspec.errors import SpecError
from archspec.graph.order import keras_layer_order
from tests.support.reference import graph_counts, reference_case

SMALL = (64, 64, 3)   # 2x2 after the /32 downsampling
TINY = (32, 32, 3)    # keras.applications' minimum input: 1x1 after conv4

REFERENCES = {
    "resnet50v2": keras.applications.ResNet50V2,
    "resnet101v2": keras.applications.ResNet101V2,
    "resnet152v2": keras.applications.ResNet152V2,
}
# From keras.applications at 224x224 with the top: layers with weights, parameters.
COUNTS = {
    "resnet50v2": (103, 25_613_800),
    "resnet101v2": (205, 44_675_560),
    "resnet152v2": (307, 60_380_648),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_at_224_from_the_pure_python_graph(name):
    assert graph_counts(archspec.expand(name)) == COUNTS[name]


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_shortcuts_project_first_and_pool_last(name):
    """Projection in each stage's first block; 1x1 max-pool shortcut in the strided last block of conv2-4."""
    graph = archspec.expand(name)
    nodes = list(graph.nodes.values())
    projections = [d["block"] for d in nodes if d["name"].endswith("_0_conv")]
    assert projections == ["conv2_block1", "conv3_block1", "conv4_block1", "conv5_block1"]
    pools = [(d["block"], d["name"], d["attrs"]["strides"]) for d in nodes if d["op"] == "max_pool"][1:]
    last = {"conv2": 3, "conv3": 4, "conv4": 6}
    if name == "resnet101v2":
        last["conv4"] = 23
    elif name == "resnet152v2":
        last.update(conv3=8, conv4=36)
    assert pools == [(f"{s}_block{n}", "max_pooling2d" + (f"_{k}" if k else ""), 2)
                     for k, (s, n) in enumerate(last.items())]


_Case = reference_case(REFERENCES)


@pytest.fixture(scope="module")
def resnet50v2_top(tmp_path_factory):
    return _Case("resnet50v2", SMALL, tmp_path_factory.mktemp("resnet50v2"))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_resnet50v2_matches_reference(resnet50v2_top, by_name):
    resnet50v2_top.check(resnet50v2_top.build(by_name))


def test_pure_python_order_matches_keras(resnet50v2_top):
    """The graph's own order (used to match weight files before Keras exists) is Keras's order."""
    graph = archspec.api.layer_graph("resnet50v2", input_shape=SMALL)
    names = [graph.layers[n].name for n in keras_layer_order(graph)]
    assert names == [layer.name for layer in resnet50v2_top.ref.layers]


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_resnet50v2_pooling_heads(tmp_path, pooling):
    case = _Case("resnet50v2", TINY, tmp_path, include_top=False, pooling=pooling)
    case.check(case.build(by_name=True))


@pytest.fixture(scope="module", params=["resnet101v2", "resnet152v2"])
def deeper(request, tmp_path_factory):
    """The extended specs, headless (pooling=None) at the minimum input to keep the test fast."""
    return _Case(request.param, TINY, tmp_path_factory.mktemp(request.param), include_top=False)


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_deeper_resnet_v2s_match_reference(deeper, by_name):
    deeper.check(deeper.build(by_name))


def test_else_needs_if(tmp_path):
    """'else' (what a skipped step yields) is meaningless without 'if' and is reported at its line."""
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "archspec: 1\nname: bad\ninput: [8, 8, 3]\nstages:\n"
        "  s: {body: [{op: conv2d, filters: 4, kernel_size: 1, as: a},\n"
        "             {op: conv2d, filters: 4, kernel_size: 1, else: a}]}\n"
    )
    with pytest.raises(SpecError) as exc:
        archspec.expand(spec)
    diagnostic = exc.value.diagnostics[0]
    assert "'else' needs an 'if'" in diagnostic.message
    assert diagnostic.location.line == 6

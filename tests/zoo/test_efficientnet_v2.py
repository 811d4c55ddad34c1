"""EfficientNetV2 B0-B3, S, M, L specs against keras.applications: layer names, order, weights, function.

Why and how as in test_efficientnet.py (whose helpers this module uses): every constructor is built once
at the smallest input it accepts and compared layer by layer (names, order, weight shapes, parameters)
with the pure-Python graph; V2-B0 (ImageNet normalization as constants, Fused-MBConv without expansion
and without a residual) and V2-S ([-1, 1] rescaling, Fused-MBConv residuals with stochastic depth) load
a seeded random reference file by order and by name and compute the reference's function.
"""

from __future__ import annotations

import keras
import pytest

import archspec
from tests.support.reference import load_by_name, randomize_weights
from zoo.test_efficientnet import TINY, Equivalence, fresh_reference, graph_table, layer_table

REFERENCES = {
    "efficientnet_v2_b0": keras.applications.EfficientNetV2B0,
    "efficientnet_v2_b1": keras.applications.EfficientNetV2B1,
    "efficientnet_v2_b2": keras.applications.EfficientNetV2B2,
    "efficientnet_v2_b3": keras.applications.EfficientNetV2B3,
    "efficientnet_v2_s": keras.applications.EfficientNetV2S,
    "efficientnet_v2_m": keras.applications.EfficientNetV2M,
    "efficientnet_v2_l": keras.applications.EfficientNetV2L,
}


@pytest.fixture(scope="module")
def references():
    """Each keras.applications constructor built once for the module (weights=None, with the top, 32x32)."""
    built: dict[str, keras.Model] = {}

    def get(name: str) -> keras.Model:
        if name not in built:
            built[name] = fresh_reference(REFERENCES[name], TINY)
        return built[name]

    return get


@pytest.fixture(scope="module")
def v2_b0(references, tmp_path_factory):
    return Equivalence("efficientnet_v2_b0", references("efficientnet_v2_b0"), TINY, tmp_path_factory.mktemp("v2b0"))


@pytest.fixture(scope="module")
def v2_s(references, tmp_path_factory):
    return Equivalence("efficientnet_v2_s", references("efficientnet_v2_s"), TINY, tmp_path_factory.mktemp("v2s"))


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_layers_match_reference(references, name):
    """Names, order and weight shapes of every layer (so the parameter count) as keras.applications."""
    ref = references(name)
    graph = archspec.expand(name, input_shape=TINY)
    assert graph_table(graph) == layer_table(ref)
    assert sum(d["params"] for d in graph.nodes.values()) == ref.count_params()


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_v2_b0_loads_reference_weights(v2_b0, by_name):
    v2_b0.check(v2_b0.build(by_name))


def test_v2_s_loads_reference_weights_by_order_then_by_name(v2_s):
    """One build (V2-S is large): loaded by order and checked, then its weights are scrambled and the
    same file is loaded again by name."""
    model = v2_s.build(by_name=False)
    v2_s.check(model)
    randomize_weights(model, seed=7)
    load_by_name(model, v2_s.path)
    v2_s.check(model)


def test_include_preprocessing_false_is_a_var(references):
    """keras' include_preprocessing=False is the var include_preprocessing: no rescaling, no normalization."""
    ref = fresh_reference(keras.applications.EfficientNetV2B0, TINY, include_preprocessing=False)
    graph = archspec.expand("efficientnet_v2_b0", overrides={"vars.include_preprocessing": False}, input_shape=TINY)
    assert graph_table(graph) == layer_table(ref)
    with_preprocessing = [name for name, _ in layer_table(references("efficientnet_v2_b0"))]
    assert with_preprocessing[1:3] == ["rescaling", "normalization"]
    assert [name for name, _ in layer_table(ref)] == with_preprocessing[:1] + with_preprocessing[3:]


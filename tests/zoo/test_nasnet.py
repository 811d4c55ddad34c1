"""specs/nasnet_mobile.yaml and specs/nasnet_large.yaml against keras.applications.NASNetMobile/NASNetLarge.

Why: the specs must load the published ImageNet ``.h5`` files (by order, as keras.applications does, and by
name) and compute the reference's function. A seeded random reference written in the legacy layout stands
in for the published files. NASNet's model.layers order is decided by merge-input order among hundreds of
same-depth layers, and many of its convolutions have the same shapes, so a wrong order shows up as a weight
shape mismatch or, silently, as swapped weights: every by-order load is followed by an output comparison.
Each reference is built once, right after ``clear_session()`` (its activation_N, zero_padding2d_N,
cropping2d_N, concatenate_N and add_N names are those of a fresh process), at 32x32, the smallest input it
accepts. NASNetLarge (85 M parameters) is built once, without the top; its head is the one checked on
NASNetMobile.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from archspec.graph.order import keras_layer_order
from tests.support.reference import (
    assert_same_outputs,
    final_softmax_as_linear,
    graph_counts,
    load_by_name,
    randomize_weights,
    reference_weight_file,
)
from tests.zoo.test_mobilenet import _operations as _wiring  # model.operations: name, class, inputs

TINY = (32, 32, 3)  # keras.applications' minimum: 1x1 after the stem and four reductions
# keras.applications with the top at its default size (224 / 331): layers with weights, parameters
COUNTS = {"nasnet_mobile": (389, 5_326_716), "nasnet_large": (533, 88_949_818)}


def _layer_names(spec: str, **options) -> list[str]:
    """model.layers names of the spec's model, predicted from the pure-Python graph."""
    graph = archspec.api.layer_graph(spec, **options)
    return [graph.layers[n].name for n in keras_layer_order(graph)]


def _check(model: keras.Model, ref: keras.Model) -> float:
    """Same layer names in the same order, same wiring, same params, same outputs (logits when there is a
    softmax)."""
    assert [layer.name for layer in model.layers] == [layer.name for layer in ref.layers]
    assert _wiring(model) == _wiring(ref)
    assert model.count_params() == ref.count_params()
    assert model.input_shape == ref.input_shape and model.output_shape == ref.output_shape
    if getattr(ref.layers[-1], "activation", None) is keras.activations.get("softmax"):
        with final_softmax_as_linear(model, ref):  # random logits saturate the softmax
            return assert_same_outputs(model, ref, seed=1, tol=1e-4)
    return assert_same_outputs(model, ref, seed=1, tol=1e-4)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_at_the_default_size_from_the_pure_python_graph(name):
    assert graph_counts(archspec.expand(name)) == COUNTS[name]


# Mult-adds from the paper, Table 2: NASNet-A (4 @ 1056) 564M at 224x224, NASNet-A (6 @ 4032) 23.8B at 331x331
PAPER_MACS = {"nasnet_mobile": 564e6, "nasnet_large": 23.8e9}


@pytest.mark.parametrize("name", sorted(PAPER_MACS))
def test_macs_are_the_papers(name):
    macs = sum(d["macs"] for d in archspec.expand(name).nodes.values())
    assert abs(macs - PAPER_MACS[name]) / PAPER_MACS[name] < 0.005


# ------------------------------------------------------------------------------------------ NASNetMobile

@pytest.fixture(scope="module")
def mobile(tmp_path_factory):
    keras.backend.clear_session()
    ref = keras.applications.NASNetMobile(weights=None, input_shape=TINY)
    return ref, reference_weight_file(ref, tmp_path_factory.mktemp("nasnet") / "nasnet_mobile.h5")


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_mobile_matches_reference(mobile, by_name):
    ref, path = mobile
    _check(archspec.build("nasnet_mobile", weights=path, by_name=by_name, input_shape=TINY), ref)


def test_mobile_without_top_keeps_224_as_keras_does_and_pools():
    """keras.applications.NASNetMobile without the top takes 224x224 inputs, not open sizes
    (the spec's `variable_input: false`); weights set by order from the reference."""
    keras.backend.clear_session()
    ref = keras.applications.NASNetMobile(weights=None, include_top=False, pooling="max")
    ours = archspec.build("nasnet_mobile", include_top=False, pooling="max")
    assert ours.input_shape == ref.input_shape == (None, 224, 224, 3)
    randomize_weights(ref, seed=3)
    ours.set_weights(ref.get_weights())
    _check(ours, ref)


@pytest.mark.parametrize("options", [{"include_top": False, "pooling": "avg"},
                                     {"classes": 10, "classifier_activation": None}], ids=["avg", "classes_logits"])
def test_mobile_heads_from_the_pure_python_graph(options):
    keras.backend.clear_session()
    ref = keras.applications.NASNetMobile(weights=None, input_shape=TINY, **options)
    assert _layer_names("nasnet_mobile", input_shape=TINY, **options) == [layer.name for layer in ref.layers]
    graph = archspec.expand("nasnet_mobile", input_shape=TINY, **options)
    out = graph.nodes[graph.graph["output"]]
    assert out["shape"] == ref.output_shape[1:]
    assert graph_counts(graph)[1] == ref.count_params()
    if "classes" in options:  # the logits: Dense without an activation
        assert out["attrs"]["activation"] is None and ref.layers[-1].activation is keras.activations.get("linear")


# ------------------------------------------------------------------------------------------ NASNetLarge

@pytest.fixture(scope="module")
def large(tmp_path_factory):
    keras.backend.clear_session()
    ref = keras.applications.NASNetLarge(weights=None, input_shape=TINY, include_top=False)
    return ref, reference_weight_file(ref, tmp_path_factory.mktemp("nasnet") / "nasnet_large.h5")


def test_large_matches_reference_by_order_and_by_name(large):
    """One build loads the reference file by order; re-randomized, the same model loads it by name."""
    ref, path = large
    ours = archspec.build("nasnet_large", weights=path, input_shape=TINY, include_top=False)
    _check(ours, ref)
    randomize_weights(ours, seed=9)
    with pytest.raises(AssertionError):  # the re-randomized model is a different function
        assert_same_outputs(ours, ref, seed=1, tol=1e-4)
    load_by_name(ours, path)
    _check(ours, ref)


def test_large_skip_reduction_reads_the_older_previous_path(large):
    """skip_reduction: the normal cell after a reduction adjusts what the reduction cell adjusted, the input
    of the normal cell before it (a map twice as large), where NASNetMobile's reads the reduction cell's
    input. The pure-Python graph predicts the reference's wiring."""
    ref, _ = large
    graph = archspec.api.layer_graph("nasnet_large", input_shape=TINY, include_top=False)
    ours = {layer.name: [graph.layers[i].name for i in layer.inputs] for layer in graph.layers}
    theirs = {name: inputs for name, _, inputs in _wiring(ref)}
    first_after = [f"adjust_relu_1_{k}" for k in (7, 13)]
    assert [ours[n] for n in first_after] == [theirs[n] for n in first_after] == [["normal_concat_4"],
                                                                                   ["normal_concat_11"]]

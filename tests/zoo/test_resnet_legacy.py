"""specs/resnet50_legacy.yaml against keras_applications 1.0.8's ResNet50 (the original Keras ResNet50).

The reference is built with seeded random weights and saved in the legacy HDF5 layout of the published
``resnet50_weights_tf_dim_ordering_tf_kernels.h5``; archspec must load that file by order and by name
and compute the same function. Order is the subtle part: the original adds ``[main, shortcut]`` while
keras.applications' ResNet50 adds ``[shortcut, main]``, and by-order loading pairs layers positionally.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from archspec.errors import SpecError
from archspec.graph.order import keras_layer_order
from tests.support.reference import (
    assert_same_outputs,
    final_softmax_as_linear,
    legacy_resnet50,
    reference_weight_file,
    write_legacy_h5,
)

SMALL = (64, 64, 3)
SPEC = "resnet50_legacy"
PARAMS = 25_636_712  # keras_applications 1.0.8 ResNet50 with the top
# The template's Add step; swapping its inputs is the keras.applications order.
SWAP_ADD = {"templates.legacy_bottleneck.body.10.in": ["shortcut", "main"]}


def _weighted(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.weights]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Randomised keras_applications ResNet50 (64x64, with top) and its legacy .h5 file."""
    model = legacy_resnet50(input_shape=SMALL)
    path = reference_weight_file(model, tmp_path_factory.mktemp("legacy") / "resnet50_legacy.h5")
    return model, path


def test_graph_matches_reference_names_order_and_params(reference):
    ref, _ = reference
    graph = archspec.api.layer_graph(SPEC, input_shape=SMALL)
    order = keras_layer_order(graph)
    weighted = [graph.layers[n].name for n in order if graph.layers[n].params]
    assert weighted == [layer.name for layer in _weighted(ref)]
    assert len(weighted) == 107 and len(order) == len(ref.layers) == 177
    assert sum(layer.params for layer in graph) == ref.count_params() == PARAMS
    ops = [graph.layers[n].op for n in order]
    assert ops.count("add") == 16 and ops.count("activation") == 49


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_loads_reference_file_and_computes_the_same_function(reference, by_name):
    ref, path = reference
    ours = archspec.build(SPEC, input_shape=SMALL, weights=path, by_name=by_name)
    assert [layer.name for layer in _weighted(ours)] == [layer.name for layer in _weighted(ref)]
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in ref.layers]
    assert ours.count_params() == PARAMS
    bns = [layer for layer in ours.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 53 and all(layer.epsilon == 1e-3 for layer in bns)
    with final_softmax_as_linear(ours, ref):
        assert_same_outputs(ours, ref, seed=1)
    # every weight really came from the file (a by-name load would silently skip unknown names)
    for mine, theirs in zip(_weighted(ours), _weighted(ref)):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_notop_with_pooling_loads_by_order(reference, tmp_path):
    """The *_notop.h5 use: include_top=False, pooling='avg' (auto-named pooling, 106 weighted layers)."""
    ref, _ = reference
    notop = legacy_resnet50(input_shape=SMALL, include_top=False, pooling="avg")
    notop.set_weights(ref.get_weights()[:-2])
    path = tmp_path / "notop.h5"
    write_legacy_h5(notop, path)
    ours = archspec.build(SPEC, input_shape=SMALL, include_top=False, pooling="avg", weights=path)
    assert len(_weighted(ours)) == 106
    assert_same_outputs(ours, notop, seed=2)


def test_add_order_decides_by_order_loading(reference):
    """keras.applications' [shortcut, main] order is the same function but a different layer order:
    the checked loader refuses the reference file, and Keras alone swaps same-shaped weights silently."""
    ref, path = reference
    swapped_graph = archspec.api.layer_graph(SPEC, overrides=SWAP_ADD, input_shape=SMALL)
    swapped = [swapped_graph.layers[n].name for n in keras_layer_order(swapped_graph)
               if swapped_graph.layers[n].params]
    expected = [layer.name for layer in _weighted(ref)]
    assert sorted(swapped) == sorted(expected) and swapped != expected
    assert swapped.index("res2a_branch1") < swapped.index("res2a_branch2c")
    assert expected.index("res2a_branch2c") < expected.index("res2a_branch1")

    with pytest.raises(SpecError, match="'res3a_branch1' expects .* file layer 'res3a_branch2c'"):
        archspec.build(SPEC, overrides=SWAP_ADD, input_shape=SMALL, weights=path)  # checked before loading

    model = archspec.build(SPEC, overrides=SWAP_ADD, input_shape=SMALL)

    with pytest.warns(UserWarning, match="Skipping loading weights"):  # plain Keras skips only shape clashes
        model.load_weights(str(path), skip_mismatch=True)
    res2a_1 = model.get_layer("res2a_branch1").get_weights()[0]
    assert res2a_1.shape == ref.get_layer("res2a_branch2c").get_weights()[0].shape
    np.testing.assert_array_equal(res2a_1, ref.get_layer("res2a_branch2c").get_weights()[0])

    model = archspec.build(SPEC, overrides=SWAP_ADD, input_shape=SMALL, weights=path, by_name=True)
    with final_softmax_as_linear(model, ref):  # Add is commutative: by name it is the same function
        assert_same_outputs(model, ref, seed=3)

"""ResNet50/101/152 specs compute what keras.applications computes, with its weight files.

Outputs are compared as logits (classifier_activation=None): with random weights a deep ResNet's softmax
saturates to one-hot, which would make the comparison vacuous.

Each reference gets seeded random weights written in the legacy HDF5 layout of the published files,
which are then loaded into the archspec model by order and by name.
"""

from __future__ import annotations

import copy

import keras
import numpy as np
import pytest

import archspec
from archspec.graph.order import keras_layer_order
from tests.support.reference import load_by_name, load_by_order, max_rel_error, reference_weight_file

SHAPE = (64, 64, 3)
REFERENCES = {
    "resnet50": keras.applications.ResNet50,
    "resnet101": keras.applications.ResNet101,
    "resnet152": keras.applications.ResNet152,
}


def _inputs(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(2, *SHAPE)).astype("float32")


def _run(model: keras.Model) -> np.ndarray:
    return np.asarray(model(_inputs(), training=False))


@pytest.fixture(scope="module", params=sorted(REFERENCES))
def reference(request, tmp_path_factory):
    name = request.param
    ref = REFERENCES[name](weights=None, input_shape=SHAPE, classifier_activation=None)
    path = reference_weight_file(ref, tmp_path_factory.mktemp(name) / f"{name}.h5", seed=7)
    return name, ref, path, _run(ref)


def test_names_and_layer_order_match_the_reference(reference):
    name, ref, _, _ = reference
    model = archspec.build(name, input_shape=SHAPE, classifier_activation=None)
    assert [layer.name for layer in model.layers][1:] == [layer.name for layer in ref.layers][1:]
    assert model.count_params() == ref.count_params()
    # the pure-Python order used by check-weights agrees with Keras
    graph = archspec.api.layer_graph(name, input_shape=SHAPE)
    assert [graph.layers[n].name for n in keras_layer_order(graph)] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("mode", ["order", "name"])
def test_reference_weight_file_loads_and_outputs_match(reference, mode):
    name, _, path, expected = reference
    model = archspec.build(name, input_shape=SHAPE, classifier_activation=None, weights=path,
                           by_name=mode == "name")
    assert max_rel_error(_run(model), expected) < 1e-5


def test_add_input_order_decides_which_weights_load_by_order(tmp_path):
    """Swapping Add inputs keeps names but swaps same-shaped convs in model.layers: only numbers show it.

    In conv2_block1 the projection (conv2_block1_0_conv) and conv2_block1_3_conv are both 1x1x64x256.
    """
    ref = keras.applications.ResNet50(weights=None, input_shape=SHAPE, classifier_activation=None)
    path = reference_weight_file(ref, tmp_path / "r50.h5", seed=3)
    expected = _run(ref)
    swapped_block = copy.deepcopy(archspec.load_spec("resnet50").data["templates"]["bottleneck"])
    assert swapped_block["body"][10]["in"] == ["shortcut", "prev"]
    swapped_block["body"][10]["in"] = ["prev", "shortcut"]
    swapped = {"templates.swapped": swapped_block, "stages.conv2.block": "swapped"}

    by_name = archspec.build("resnet50", input_shape=SHAPE, classifier_activation=None, overrides=swapped)
    load_by_name(by_name, path)
    assert max_rel_error(_run(by_name), expected) < 1e-5

    by_order = archspec.build("resnet50", input_shape=SHAPE, classifier_activation=None, overrides=swapped)
    load_by_order(by_order, path)  # Keras raises nothing: shapes agree pairwise
    assert max_rel_error(_run(by_order), expected) > 1e-2

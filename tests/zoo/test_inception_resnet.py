"""specs/inception_resnet_v2.yaml against keras.applications.InceptionResNetV2, and
specs/inception_resnet_v1.yaml against FaceNet's Inception-ResNet-V1 as the Keras FaceNet ports name it.

V2: the reference is built with seeded random weights and saved in the legacy HDF5 layout of the published
ImageNet files; archspec loads that file by order and must compute the same function. Most reference
layers are auto-named, so the names only agree when both sides count from zero: the reference is built
right after ``keras.backend.clear_session()`` (the state of a fresh process).

V1: counts and names from the pure-Python graph, and an independent test-only Keras reference (written
here, with ``Rescaling`` + ``Add`` for the residual instead of the scale layer) whose weights
archspec loads by name.
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
    reference_weight_file,
)

V2, V1 = "inception_resnet_v2", "inception_resnet_v1"
V2_SMALL = (75, 75, 3)  # the reference's minimum input size; keeps the test fast
V2_WEIGHTED, V2_PARAMS = 449, 55_873_736
V1_WEIGHTED, V1_PARAMS = 245, 22_808_144


def _weighted(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.weights]


# ------------------------------------------------------------------------------------------ V2

@pytest.fixture(scope="module")
def v2_reference(tmp_path_factory):
    """Randomised keras.applications InceptionResNetV2 (75x75, with top), auto-named as in a fresh process,
    and its legacy .h5 file."""
    keras.backend.clear_session()
    model = keras.applications.InceptionResNetV2(weights=None, input_shape=V2_SMALL)
    path = reference_weight_file(model, tmp_path_factory.mktemp("irv2") / "inception_resnet_v2.h5")
    return model, path


@pytest.fixture(scope="module")
def v2_ours(v2_reference):
    _, path = v2_reference
    return archspec.build(V2, input_shape=V2_SMALL, weights=path)


def test_v2_counts_at_299_from_the_graph():
    assert graph_counts(archspec.expand(V2)) == (V2_WEIGHTED, V2_PARAMS)


@pytest.mark.parametrize("pooling, name", [("avg", "global_average_pooling2d"), ("max", "global_max_pooling2d")])
def test_v2_pooling_heads_are_auto_named_like_the_reference(pooling, name):
    """keras.applications leaves these unnamed; a fresh-process reference calls them exactly this."""
    graph = archspec.expand(V2, include_top=False, pooling=pooling)
    out = graph.nodes[graph.graph["output"]]
    assert out["name"] == name and out["auto_named"] and out["shape"] == (1536,)
    assert graph_counts(graph) == (V2_WEIGHTED - 1, V2_PARAMS - (1536 + 1) * 1000)


def test_v2_graph_order_names_and_shapes_match_reference(v2_reference):
    ref, _ = v2_reference
    graph = archspec.api.layer_graph(V2, input_shape=V2_SMALL)
    order = keras_layer_order(graph)
    assert len(order) == len(ref.layers) == 782
    theirs = [layer.name for layer in ref.layers]
    ours = [graph.layers[n].name for n in order]
    assert ours == theirs  # every name, the auto-named scale layers (custom_scale_layer_N) included
    weighted = [n for n in order if graph.layers[n].params]
    assert len(weighted) == V2_WEIGHTED
    assert [tuple(w.shape for w in graph.layers[n].weights) for n in weighted] == [
        tuple(tuple(v.shape) for v in layer.weights) for layer in _weighted(ref)]


def test_v2_loads_reference_file_by_order_and_computes_the_same_function(v2_reference, v2_ours):
    ref, _ = v2_reference
    ours = v2_ours
    assert ours.count_params() == ref.count_params() == V2_PARAMS
    assert [layer.name for layer in _weighted(ours)] == [layer.name for layer in _weighted(ref)]
    bns = [layer for layer in ours.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 204 and all(not b.scale and b.epsilon == 1e-3 for b in bns)
    scales = [layer.scale for layer in ours.layers if type(layer).__name__ == "CustomScaleLayer"]
    assert scales == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]
    assert ours.get_layer("block8_9_ac") and "block8_10_ac" not in {layer.name for layer in ours.layers}
    with final_softmax_as_linear(ours, ref):
        assert_same_outputs(ours, ref, seed=1)
    for mine, theirs in zip(_weighted(ours), _weighted(ref)):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------ V1

V1_NAMES = {
    "Conv2d_1a_3x3", "Conv2d_1a_3x3_BatchNorm", "Conv2d_1a_3x3_Activation", "MaxPool_3a_3x3", "Conv2d_4b_3x3",
    "Block35_1_Branch_0_Conv2d_1x1", "Block35_1_Branch_2_Conv2d_0c_3x3_BatchNorm", "Block35_1_Concatenate",
    "Block35_1_Conv2d_1x1", "Block35_1_Activation", "Block35_5_Activation",
    "Mixed_6a", "Mixed_6a_Branch_1_Conv2d_1a_3x3", "Mixed_6a_Branch_2_MaxPool_1a_3x3",
    "Block17_1_Branch_1_Conv2d_0b_1x7", "Block17_10_Branch_1_Conv2d_0c_7x1_Activation", "Block17_10_Activation",
    "Mixed_7a", "Mixed_7a_Branch_2_Conv2d_0b_3x3", "Mixed_7a_Branch_3_MaxPool_1a_3x3",
    "Block8_1_Branch_1_Conv2d_0b_1x3", "Block8_5_Activation", "Block8_6_Conv2d_1x1",
    "AvgPool", "Dropout", "Bottleneck", "Bottleneck_BatchNorm",
}


def facenet_reference(input_shape=(160, 160, 3), classes=128) -> keras.Model:
    """Inception-ResNet-V1 written directly in Keras from the FaceNet description, with the layer names of
    the Keras FaceNet ports; an independent check of the spec (residual as Rescaling + Add)."""
    L = keras.layers

    def conv_bn(x, filters, kernel, name, strides=1, padding="same"):
        x = L.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)(x)
        x = L.BatchNormalization(momentum=0.995, epsilon=1e-3, scale=False, name=f"{name}_BatchNorm")(x)
        return L.Activation("relu", name=f"{name}_Activation")(x)

    def branches(x, prefix, spec):
        """spec: one list per branch of (filters, kernel, slim name, strides, padding) or 'pool'."""
        outs = []
        for b, convs in enumerate(spec):
            y = x
            for conv in convs:
                if conv == "pool":
                    y = L.MaxPooling2D(3, strides=2, name=f"{prefix}_Branch_{b}_MaxPool_1a_3x3")(y)
                else:
                    filters, kernel, slim, *rest = conv
                    y = conv_bn(y, filters, kernel, f"{prefix}_Branch_{b}_{slim}", *rest)
            outs.append(y)
        return outs

    def residual(x, kind, idx, scale, spec, relu=True):
        prefix = f"{kind}_{idx}"
        mixed = L.Concatenate(name=f"{prefix}_Concatenate")(branches(x, prefix, spec))
        up = L.Conv2D(x.shape[-1], 1, name=f"{prefix}_Conv2d_1x1")(mixed)
        x = L.Add()([x, L.Rescaling(scale)(up)])
        return L.Activation("relu", name=f"{prefix}_Activation")(x) if relu else x

    a = [[(32, 1, "Conv2d_1x1")], [(32, 1, "Conv2d_0a_1x1"), (32, 3, "Conv2d_0b_3x3")],
         [(32, 1, "Conv2d_0a_1x1"), (32, 3, "Conv2d_0b_3x3"), (32, 3, "Conv2d_0c_3x3")]]
    b = [[(128, 1, "Conv2d_1x1")], [(128, 1, "Conv2d_0a_1x1"), (128, (1, 7), "Conv2d_0b_1x7"),
                                    (128, (7, 1), "Conv2d_0c_7x1")]]
    c = [[(192, 1, "Conv2d_1x1")], [(192, 1, "Conv2d_0a_1x1"), (192, (1, 3), "Conv2d_0b_1x3"),
                                    (192, (3, 1), "Conv2d_0c_3x1")]]
    inputs = keras.Input(input_shape)
    x = conv_bn(inputs, 32, 3, "Conv2d_1a_3x3", 2, "valid")
    x = conv_bn(x, 32, 3, "Conv2d_2a_3x3", 1, "valid")
    x = conv_bn(x, 64, 3, "Conv2d_2b_3x3")
    x = L.MaxPooling2D(3, strides=2, name="MaxPool_3a_3x3")(x)
    x = conv_bn(x, 80, 1, "Conv2d_3b_1x1", 1, "valid")
    x = conv_bn(x, 192, 3, "Conv2d_4a_3x3", 1, "valid")
    x = conv_bn(x, 256, 3, "Conv2d_4b_3x3", 2, "valid")
    for i in range(1, 6):
        x = residual(x, "Block35", i, 0.17, a)
    x = L.Concatenate(name="Mixed_6a")(branches(x, "Mixed_6a", [
        [(384, 3, "Conv2d_1a_3x3", 2, "valid")],
        [(192, 1, "Conv2d_0a_1x1"), (192, 3, "Conv2d_0b_3x3"), (256, 3, "Conv2d_1a_3x3", 2, "valid")],
        ["pool"]]))
    for i in range(1, 11):
        x = residual(x, "Block17", i, 0.1, b)
    x = L.Concatenate(name="Mixed_7a")(branches(x, "Mixed_7a", [
        [(256, 1, "Conv2d_0a_1x1"), (384, 3, "Conv2d_1a_3x3", 2, "valid")],
        [(256, 1, "Conv2d_0a_1x1"), (256, 3, "Conv2d_1a_3x3", 2, "valid")],
        [(256, 1, "Conv2d_0a_1x1"), (256, 3, "Conv2d_0b_3x3"), (256, 3, "Conv2d_1a_3x3", 2, "valid")],
        ["pool"]]))
    for i in range(1, 7):
        x = residual(x, "Block8", i, 0.2 if i < 6 else 1.0, c, relu=i < 6)
    x = L.GlobalAveragePooling2D(name="AvgPool")(x)
    x = L.Dropout(0.2, name="Dropout")(x)
    x = L.Dense(classes, use_bias=False, name="Bottleneck")(x)
    x = L.BatchNormalization(momentum=0.995, epsilon=1e-3, scale=False, name="Bottleneck_BatchNorm")(x)
    return keras.Model(inputs, x, name="facenet_reference")


@pytest.fixture(scope="module")
def v1_reference(tmp_path_factory):
    model = facenet_reference()
    path = reference_weight_file(model, tmp_path_factory.mktemp("irv1") / "facenet.h5")
    return model, path


def test_v1_graph_counts_and_names():
    graph = archspec.expand(V1)
    assert graph.graph["input_shape"] == (160, 160, 3)
    assert graph_counts(graph) == (V1_WEIGHTED, V1_PARAMS)
    nodes = {graph.nodes[n]["name"]: graph.nodes[n] for n in graph}
    assert V1_NAMES <= set(nodes)
    assert "Block8_6_Activation" not in nodes and nodes["Dropout"]["attrs"]["rate"] == 0.2
    assert nodes["Bottleneck"]["shape"] == (128,) and not nodes["Bottleneck"]["attrs"]["use_bias"]
    bns = [node for node in nodes.values() if node["op"] == "batch_norm"]
    assert all(bn["attrs"] == {"epsilon": 1e-3, "momentum": 0.995, "scale": False, "center": True} for bn in bns)
    assert [node["attrs"]["scale"] for node in nodes.values() if node["op"] == "scaled_add"] == (
        [0.17] * 5 + [0.1] * 10 + [0.2] * 5 + [1.0])
    auto = sorted(name for name, node in nodes.items() if node.get("auto_named"))
    assert all(name.startswith("custom_scale_layer") for name in auto if name != "input_layer")  # the rest is named


def test_v1_loads_independent_reference_by_name_and_computes_the_same_function(v1_reference):
    ref, path = v1_reference
    assert len(_weighted(ref)) == V1_WEIGHTED and ref.count_params() == V1_PARAMS
    ours = archspec.build(V1, weights=path, by_name=True)
    assert len(_weighted(ours)) == V1_WEIGHTED and ours.count_params() == V1_PARAMS
    assert {layer.name for layer in _weighted(ours)} == {layer.name for layer in _weighted(ref)}
    assert_same_outputs(ours, ref, seed=1)
    for mine in _weighted(ours):
        for a, b in zip(mine.get_weights(), ref.get_layer(mine.name).get_weights()):
            np.testing.assert_array_equal(a, b)

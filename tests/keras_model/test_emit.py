"""Emitting Keras models: deterministic names in one process, and layer options mirrored from the graph."""

from __future__ import annotations

import keras

import archspec
from archspec.graph.order import keras_layer_order


def test_same_spec_twice_in_one_process_gives_identical_layer_names():
    first = archspec.build("densenet121", input_shape=(32, 32, 3), include_top=False)
    second = archspec.build("densenet121", input_shape=(32, 32, 3), include_top=False)
    names = [layer.name for layer in first.layers]
    assert names == [layer.name for layer in second.layers]
    assert "zero_padding2d" in names and "zero_padding2d_1" in names  # auto-named, yet stable
    # keras.applications cannot promise this: its auto-names depend on what the process built before
    ref_a = keras.applications.DenseNet121(weights=None, input_shape=(32, 32, 3), include_top=False)
    ref_b = keras.applications.DenseNet121(weights=None, input_shape=(32, 32, 3), include_top=False)
    assert [layer.name for layer in ref_a.layers] != [layer.name for layer in ref_b.layers]


def test_emitted_layers_carry_the_graph_attributes():
    graph = archspec.api.layer_graph("resnet50", input_shape=(64, 64, 3))
    model = archspec.build("resnet50", input_shape=(64, 64, 3))
    layers = {layer.name: layer for layer in model.layers}
    for nid in keras_layer_order(graph):
        node = graph.layers[nid]
        layer = layers[node.name]
        assert tuple(layer.output.shape[1:]) == node.shape, node.name
        assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in node.weights], node.name
    assert layers["conv1_bn"].epsilon == 1.001e-5

"""specs/resnet18.yaml and specs/resnet34.yaml: the basic-block ResNets in torchvision's topology.

There is no Keras reference to load weights from, so these check what torchvision publishes (the
trainable parameter counts) and the structure that produces them, in the graph and in the built model.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from archspec.graph.order import keras_layer_order

# name -> (torchvision's published parameter count, blocks per stage conv2..conv5)
NETS = {
    "resnet18": (11_689_512, [2, 2, 2, 2]),
    "resnet34": (21_797_672, [3, 4, 6, 3]),
}
STAGES = ("conv2", "conv3", "conv4", "conv5")
FILTERS = (64, 128, 256, 512)


@pytest.fixture(scope="module", params=sorted(NETS))
def net(request):
    name = request.param
    return name, archspec.api.layer_graph(name), archspec.build(name)


def test_trainable_params_match_torchvision(net):
    name, graph, model = net
    expected, _ = NETS[name]
    assert sum(layer.trainable for layer in graph) == expected
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected
    bn_channels = sum(layer.shape[-1] for layer in graph if layer.op == "batch_norm")
    assert model.count_params() == expected + 2 * bn_channels  # + moving mean and variance


def test_block_structure(net):
    name, graph, model = net
    _, blocks = NETS[name]
    nodes = [graph.layers[n] for n in keras_layer_order(graph)]
    convs = [n for n in nodes if n.op == "conv2d"]
    assert len(convs) == 1 + 2 * sum(blocks) + 3  # stem, two 3x3 per block, three projections
    assert [n.name for n in nodes if n.op == "dense"] == ["predictions"]
    assert [n.name for n in nodes if n.name.endswith("_0_conv")] == [
        f"{stage}_block1_0_conv" for stage in STAGES[1:]]
    for stage, count, filters in zip(STAGES, blocks, FILTERS):
        assert sum(n.name.startswith(f"{stage}_block") and n.op == "add" for n in nodes) == count
        assert next(n for n in graph if n.name == f"{stage}_block{count}_out").shape == (224 // 2 ** (STAGES.index(stage) + 2),) * 2 + (filters,)

    layers = {layer.name: layer for layer in model.layers}
    strided = sorted(n.name for n in convs if tuple(layers[n.name].strides) != (1, 1))
    assert strided == ["conv1_conv"] + [f"{s}_block1_{k}_conv" for s in STAGES[1:] for k in (0, 1)]
    assert all(not layer.use_bias for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert layers["predictions"].use_bias and layers["predictions"].units == 1000
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == len(convs) and all(layer.epsilon == 1e-5 for layer in bns)
    # torch pads strided 3x3 convs by 1 on every side; Keras 'same' would pad bottom/right only
    for stage in STAGES[1:]:
        pad = layers[f"{stage}_block1_1_pad"]
        assert tuple(map(tuple, pad.padding)) == ((1, 1), (1, 1))
        assert layers[f"{stage}_block1_1_conv"].padding == "valid"
    assert layers["pool1_pad"].padding == ((1, 1), (1, 1)) and layers["pool1_pool"].padding == "valid"
    assert [layer.name for layer in model.layers if layer.weights] == [
        n.name for n in nodes if n.params]


def test_headless_pooling_and_small_input():
    model = archspec.build("resnet34", include_top=False, pooling="avg", input_shape=(64, 64, 3))
    assert model.output_shape == (None, 512)
    assert archspec.expand("resnet18").graph["preprocessing"] == "torch"

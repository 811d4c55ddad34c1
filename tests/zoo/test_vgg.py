"""specs/vgg16.yaml and specs/vgg19.yaml against keras.applications.VGG16/VGG19.

Why: the specs must load the published ImageNet ``.h5`` files, which keras.applications loads by order;
users also load them by name. A seeded random reference written in the legacy layout stands in for the
published files: our model must compute the reference's function after loading it either way.

Size: with the top, VGG's Flatten ties fc1 to the input size; the published weights need 224x224, but the
reference built with ``weights=None`` accepts any size from 32x32, and names, order and every other weight
shape do not depend on it. So the Keras checks run at 32x32 (VGG16 with the top is 37.7M parameters there,
138M at 224), and the 224x224 counts come from the pure-Python graph against the reference's numbers.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from tests.support.reference import assert_same_outputs, graph_counts, reference_case

TINY = (32, 32, 3)    # keras.applications' minimum input: 1x1x512 after block5_pool

REFERENCES = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}
# From keras.applications at 224x224 with the top: layers with weights, parameters.
COUNTS = {"vgg16": (16, 138_357_544), "vgg19": (19, 143_667_240)}
# Multiply-accumulates at 224x224 (convolutions and dense layers), as published: ~15.5 G for VGG-16 (the
# usual figure; He et al., "Deep Residual Learning for Image Recognition" (2015), give 15.3 G, counting
# multiply-adds, in "Deeper Bottleneck Architectures") and 19.6 G for VGG-19 (same paper, section 4.1).
PAPER_MACS = {"vgg16": 15.5e9, "vgg19": 19.6e9}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_at_224_from_the_pure_python_graph(name):
    graph = archspec.expand(name)
    assert graph_counts(graph) == COUNTS[name]
    fc1 = next(d for d in graph.nodes.values() if d["name"] == "fc1")
    assert [w.shape for w in fc1["weights"]] == [(7 * 7 * 512, 4096), (4096,)]


@pytest.mark.parametrize("name", sorted(PAPER_MACS))
def test_macs_at_224_within_5_percent_of_the_paper(name):
    """What `archspec summary` reports: the sum of the nodes' multiply-accumulates."""
    macs = sum(d["macs"] for d in archspec.expand(name).nodes.values())
    assert abs(macs - PAPER_MACS[name]) <= 0.05 * PAPER_MACS[name]


def test_vgg19_only_deepens_blocks_3_to_5():
    """vgg19 extends vgg16: the same blocks and head, four convolutions in blocks 3-5 instead of three."""
    convs = {}
    for name in ("vgg16", "vgg19"):
        nodes = archspec.expand(name).nodes.values()
        convs[name] = [d["name"] for d in nodes if d["op"] == "conv2d"]
    per_block = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
    for name, counts in per_block.items():
        assert convs[name] == [f"block{b}_conv{i}" for b, n in enumerate(counts, 1) for i in range(1, n + 1)]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_preprocessing_is_keras_caffe_mode(name):
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    module = getattr(keras.applications, name)
    np.testing.assert_allclose(archspec.preprocess(name, images), module.preprocess_input(images.copy()),
                               rtol=1e-6)


_Case = reference_case(REFERENCES)


@pytest.fixture(scope="module")
def vgg16_top(tmp_path_factory):
    return _Case("vgg16", TINY, tmp_path_factory.mktemp("vgg16"))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_vgg16_matches_reference(vgg16_top, by_name):
    vgg16_top.check(vgg16_top.build(by_name))


@pytest.mark.parametrize("pooling", [None, "avg", "max"])
def test_vgg16_headless_and_pooling_heads(tmp_path, pooling):
    case = _Case("vgg16", TINY, tmp_path, include_top=False, pooling=pooling)
    model = case.build(by_name=True)
    assert model.output_shape == case.ref.output_shape
    case.check(model)


def test_vgg16_classes_and_classifier_activation(tmp_path):
    """classes resizes only the classifier; classifier_activation=None leaves logits, as in the reference."""
    case = _Case("vgg16", TINY, tmp_path, classes=10, classifier_activation=None)
    model = case.build(by_name=False)
    assert [layer.name for layer in model.layers] == [layer.name for layer in case.ref.layers]
    assert model.count_params() == case.ref.count_params()
    assert model.output_shape == case.ref.output_shape == (None, 10)
    assert model.layers[-1].activation is keras.activations.linear
    assert_same_outputs(model, case.ref, seed=1)


@pytest.fixture(scope="module")
def vgg19_headless(tmp_path_factory):
    return _Case("vgg19", TINY, tmp_path_factory.mktemp("vgg19"), include_top=False)


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_vgg19_matches_reference(vgg19_headless, by_name):
    vgg19_headless.check(vgg19_headless.build(by_name))

"""specs/inception_v3.yaml against keras.applications.InceptionV3.

Why: the spec must load the published ImageNet ``.h5`` files, which keras.applications loads by order;
users also load them by name. A seeded random reference written in the legacy layout stands in for the
published files. Nearly every reference layer is auto-named (conv2d_93, batch_normalization_93,
activation_93, concatenate_1, ...), so the names agree only if archspec creates layers in the
reference's order; the reference is built right after ``keras.backend.clear_session()`` (a fresh process).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import archspec
from tests.support.reference import assert_same_outputs, graph_counts, reference_case, write_legacy_h5

NAME = "inception_v3"
TINY = (75, 75, 3)   # keras.applications' minimum input: 1x1x2048 after mixed10
WEIGHTED, PARAMS = 189, 23_851_784   # keras.applications at 299x299 with the top
BLOCKS = [f"mixed{i}" for i in range(11)] + ["mixed9_0", "mixed9_1"]

_reference = reference_case({NAME: keras.applications.InceptionV3})


def _Case(*args, **options):
    """A reference case whose random convolution kernels have He scaling (variance 2 / fan_in).

    With the default variance 1 / fan_in every ReLU halves the signal, and after InceptionV3's ~47
    convolutions in a row (no residuals) the output hardly depends on the input any more (relative
    spread between two inputs ~1e-3): the comparison would test the biases only. The rescaled weights
    are written back to the reference's file.
    """
    case = _reference(*args, **options)
    for layer in case.ref.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.kernel.assign(layer.kernel * math.sqrt(2))
    write_legacy_h5(case.ref, case.path)
    return case


def _nodes(graph):
    return {d["name"]: d for d in graph.nodes.values()}


def test_counts_and_block_outputs_at_299_from_the_pure_python_graph():
    graph = archspec.expand(NAME)
    assert graph_counts(graph) == (WEIGHTED, PARAMS)
    nodes = _nodes(graph)
    # the grid sizes of the paper's Table 1 (35x35x288, 17x17x768, 8x8x2048)
    assert [nodes[f"mixed{i}"]["shape"] for i in (0, 2, 3, 7, 8, 10)] == [
        (35, 35, 256), (35, 35, 288), (17, 17, 768), (17, 17, 768), (8, 8, 1280), (8, 8, 2048)]
    named = sorted(name for name, d in nodes.items() if not d.get("auto_named"))
    assert named == sorted(BLOCKS + ["avg_pool", "predictions"])
    bns = [d for d in nodes.values() if d["op"] == "batch_norm"]
    assert len(bns) == 94 and all(not d["attrs"]["scale"] and d["attrs"]["epsilon"] == 1e-3 for d in bns)


@pytest.mark.parametrize("pooling, name", [("avg", "global_average_pooling2d"), ("max", "global_max_pooling2d")])
def test_pooling_heads_are_auto_named_like_the_reference(pooling, name):
    graph = archspec.expand(NAME, include_top=False, pooling=pooling)
    out = graph.nodes[graph.graph["output"]]
    assert out["name"] == name and out["shape"] == (2048,)
    assert graph_counts(graph) == (WEIGHTED - 1, PARAMS - (2048 + 1) * 1000)


def test_preprocessing_is_keras_tf_mode():
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = keras.applications.inception_v3.preprocess_input(images.copy())
    np.testing.assert_allclose(archspec.preprocess(NAME, images), expected, rtol=1e-6)


@pytest.fixture(scope="module")
def top(tmp_path_factory):
    return _Case(NAME, TINY, tmp_path_factory.mktemp(NAME))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_matches_reference(top, by_name):
    top.check(top.build(by_name))


def test_classes_and_classifier_activation(tmp_path):
    case = _Case(NAME, TINY, tmp_path, classes=10, classifier_activation=None)
    model = case.build(by_name=True)
    assert [layer.name for layer in model.layers] == [layer.name for layer in case.ref.layers]
    assert model.count_params() == case.ref.count_params() == PARAMS - (2048 + 1) * (1000 - 10)
    assert model.output_shape == (None, 10) and model.layers[-1].activation is keras.activations.linear
    assert_same_outputs(model, case.ref, seed=1)


def test_headless_avg_pooling(tmp_path):
    case = _Case(NAME, TINY, tmp_path, include_top=False, pooling="avg")
    case.check(case.build(by_name=True))

"""The graph-only exports against the Keras models archspec builds, for every bundled spec.

Models are built at a small input size (params do not depend on it: every head pools globally), and
the summary at the spec's own input size must give the same count. One build per spec serves all checks.
"""

from __future__ import annotations

import math

import keras
import pytest

from archspec.api import build, layer_graph
from archspec.export.dot import to_dot
from archspec.export.summary import summarize
from archspec.lang.sources import bundled_names
from tests.export.dotparse import graphviz_view

SMALL_INPUT = (75, 75, 3)  # the smallest size every zoo network accepts (Inception-ResNet's stem)


def _inbound(model: keras.Model) -> dict[str, list[str]]:
    """Each layer's input layers, in call order, from Keras's own node records."""
    out = {}
    for layer in model.layers:
        (node,) = layer._inbound_nodes
        out[layer.name] = [t._keras_history.operation.name for t in node.input_tensors]
    return out


@pytest.mark.parametrize("spec", bundled_names())
def test_exports_agree_with_the_built_keras_model(spec: str) -> None:
    keras.backend.clear_session()
    model = build(spec, input_shape=SMALL_INPUT)
    graph = layer_graph(spec, input_shape=SMALL_INPUT)

    summary = summarize(graph)
    assert summary["params"] == model.count_params()
    assert summary["trainable_params"] == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert summary["weighted_layers"] == sum(1 for layer in model.layers if layer.weights)

    names, edges = graphviz_view(to_dot(graph).to_string())
    inbound = _inbound(model)
    assert sorted(names.values()) == sorted(inbound)  # one DOT node per Keras layer
    assert edges == {(src, dst) for dst, srcs in inbound.items() for src in srcs}
    nodes = graph.layers
    assert {d.name: [nodes[i].name for i in d.inputs] for d in nodes} == inbound  # merge order

"""The graph-only exports against the Keras models archspec builds, for every bundled spec.

Models are built at a small input size (params do not depend on it: every head pools globally), and
the summary at the spec's own input size must give the same count. One build per spec serves all checks.
Keras operations that are not layers (MobileNetV3's ``x + 3.0``) are nodes of the functional graph: the DOT
has one node per ``model.operations`` entry, those ops drawn as ellipses, and the summary's ``layers`` is
``len(model.layers)``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import keras
import pytest

from archspec.api import build, layer_graph, load_spec
from archspec.export.dot import to_dot
from archspec.export.summary import summarize
from archspec.graph.order import keras_inputs
from archspec.lang.sources import bundled_names
from tests.export.dotparse import graphviz_view
from tests.support.sizes import accepted_size

SMALL_INPUT = 75  # the smallest size every classifier accepts (Inception-ResNet's stem); the dense-prediction
# specs take multiples of their `input_multiple` (64 for 32)


def _inbound(model: keras.Model) -> dict[str, list[str]]:
    """Each operation's (layer or not) input operations, in call order, from Keras's own node records."""
    out = {}
    for operation in model.operations:
        (node,) = operation._inbound_nodes
        out[operation.name] = [t._keras_history.operation.name for t in node.input_tensors]
    return out


def _drawn(model: keras.Model, inbound: dict[str, list[str]]) -> tuple[list[str], set[tuple[str, str]]]:
    """The nodes and edges the DOT must show of Keras's graph: a nested Sequential (ConvNeXt's stem) is a
    cluster of its own layers, a chain whose first layer takes its input and whose last feeds its consumers."""
    inner = {layer.name: [x.name for x in layer.layers] for layer in model.layers if isinstance(layer, keras.Sequential)}
    names, edges = [], set()
    for dst, srcs in inbound.items():
        chain = inner.get(dst, [dst])
        names += chain
        edges |= set(zip(chain, chain[1:])) | {(inner.get(src, [src])[-1], chain[0]) for src in srcs}
    return names, edges


def _ellipses(dot_text: str) -> set[str]:
    """Names (first label line) of the DOT nodes drawn as ellipses, read by Graphviz's gvpr."""
    prog = 'N[shape=="ellipse"]{print($.label)}'
    proc = subprocess.run([shutil.which("gvpr"), prog], input=dot_text.encode(), capture_output=True, check=True)
    return {line.split("\\n")[0] for line in proc.stdout.decode().splitlines()}


def _one_per_library_set() -> list[str]:
    """The smallest bundled spec of each distinct set of template libraries: the exports are generic code, and
    every spec's own numbers are held to its reference by the zoo tests (and built on every backend by
    tests/keras_backends), so one model per combination of templates is enough here."""
    smallest: dict[frozenset, tuple[int, str]] = {}
    for name in bundled_names():
        libraries = frozenset(Path(s).name for s in load_spec(name).sources if Path(s).parent.name == "lib")
        size = len(layer_graph(name).layers)
        smallest[libraries] = min(smallest.get(libraries, (size, name)), (size, name))
    return sorted(name for _, name in smallest.values())


@pytest.mark.parametrize("spec", _one_per_library_set())
def test_exports_agree_with_the_built_keras_model(spec: str) -> None:
    keras.backend.clear_session()
    shape = accepted_size(spec, SMALL_INPUT)
    model = build(spec, input_shape=shape)
    graph = layer_graph(spec, input_shape=shape)

    not_layers = {op.name for op in model.operations if not isinstance(op, keras.layers.Layer)}
    assert not_layers == {layer.name for layer in graph.top_level() if not layer.is_layer}

    summary = summarize(graph)
    assert summary["params"] == model.count_params()
    assert summary["trainable_params"] == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert summary["weighted_layers"] == sum(1 for layer in model.layers if layer.weights)
    assert summary["layers"] == len(model.layers) and summary["operations"] == len(not_layers)

    text = to_dot(graph).to_string()
    names, edges = graphviz_view(text)
    outputs = {f"output {k}" for k in graph.named_outputs()}  # a node each, fed by the layer it returns
    assert outputs <= set(names.values())
    names = {key: name for key, name in names.items() if name not in outputs}
    edges = {(src, dst) for src, dst in edges if dst not in outputs}
    inbound = _inbound(model)
    drawn, drawn_edges = _drawn(model, inbound)
    assert sorted(names.values()) == sorted(drawn)  # one DOT node per Keras operation, layer or not
    assert _ellipses(text) == not_layers  # and those that are not layers look different
    nodes = graph.layers
    # the DOT also draws a value that only gives a size (resize_like's second input), which Keras does not read
    sizes = {(nodes[i].name, d.name) for d in graph.top_level() for i in d.inputs[len(keras_inputs(d)):]}
    assert edges == drawn_edges | sizes
    assert {d.name: [nodes[i].name for i in keras_inputs(d)] for d in graph.top_level()} == inbound  # merge order

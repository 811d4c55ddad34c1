"""Nested layers (``sequential:``) and merges that are Keras operations (``add_tensors``), against Keras.

Why: keras.applications' ConvNeXt nests its stem and downsampling blocks as ``keras.Sequential`` models (one
entry of ``model.layers`` each, owning its layers' weights) and ends every block with ``inputs + x``, an
operation that is not a layer. The docs' example (docs/spec-language.md, "Nested layers") is checked here
against the same model written directly in Keras: order and names from the graph alone, the weight checks
(h5py only), the built model, and the exports. A batch norm inside the nested layer makes the legacy file
order (all trainable weights first) observable.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest

import archspec
from archspec.api import layer_graph
from archspec.export.diff import diff
from archspec.export.dot import to_dot
from archspec.export.summary import summarize
from archspec.graph.order import keras_layer_order, keras_operation_order
from archspec.weights.match import check_weights
from tests.support.reference import reference_weight_file
from tests.test_doc_examples import doc_block


def _reference() -> keras.Model:
    """The docs' example as one writes it in Keras, in a fresh session."""
    keras.backend.clear_session()
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 1, name="a")(x)
    y = keras.Sequential([keras.layers.Conv2D(4, 3, padding="same", name="s_conv"),
                          keras.layers.BatchNormalization(name="s_bn")], name="s")(y)
    return keras.Model(x, keras.layers.Conv2D(2, 1, name="b")(y))


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nested") / "nested.yaml"
    path.write_text(doc_block("docs/spec-language.md", "name: nested"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> tuple[keras.Model, Path]:
    model = _reference()
    return model, reference_weight_file(model, tmp_path_factory.mktemp("ref") / "nested.h5")


def test_graph_alone_knows_the_keras_layers_and_the_file_layout(spec, ref):
    model, path = ref
    graph = layer_graph(spec)
    assert [graph.layers[n].name for n in keras_layer_order(graph)] == [layer.name for layer in model.layers]
    nested = next(layer for layer in graph if layer.name == "s")
    assert [graph.layers[m].name for m in nested.members] == ["s_conv", "s_bn"]
    assert all(graph.layers[m].nested_in == nested.id for m in nested.members)
    stored = model.get_layer("s").trainable_weights + model.get_layer("s").non_trainable_weights
    assert [w.shape for w in graph.stored_weights(nested)] == [tuple(v.shape) for v in stored]
    for mode in ("order", "name"):
        (report,) = check_weights(graph, path, mode).reports
        assert report.complete, mode
        assert [(graph.layers[n].name, f) for n, f in report.matched] == [("a", "a"), ("s", "s"), ("b", "b")]
    summary = summarize(graph)
    assert summary["layers"] == len(model.layers) and summary["params"] == model.count_params()
    assert summary["weighted_layers"] == sum(1 for layer in model.layers if layer.weights)


def test_built_model_equals_keras_and_loads_by_order_and_by_name(spec, ref, tmp_path):
    model, path = ref
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype("float32")
    want = keras.ops.convert_to_numpy(model(x, training=False))
    for by_name in (False, True):
        ours = archspec.build(spec, weights=path, by_name=by_name)
        assert [layer.name for layer in ours.layers] == [layer.name for layer in model.layers]
        nested = ours.get_layer("s")
        assert isinstance(nested, keras.Sequential) and [layer.name for layer in nested.layers] == ["s_conv", "s_bn"]
        assert ours.count_params() == model.count_params()
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=False)), want, rtol=1e-5, atol=1e-6)
    plain = archspec.build(spec)  # Keras's own loaders read the same file into archspec's model
    for by_name in (False, True):
        plain.load_weights(path, by_name=by_name) if by_name else plain.load_weights(path)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(x, training=False)), want, rtol=1e-5, atol=1e-6)


def test_exports_show_the_layers_inside(spec, tmp_path):
    graph = layer_graph(spec)
    dot = to_dot(graph).to_string()
    cluster = re.search(r"subgraph cluster_n_s \{(.*?)\}", dot, flags=re.S)
    assert cluster and "n_s_conv" in cluster.group(1) and "n_s_bn" in cluster.group(1)
    assert "n_a -> n_s_conv" in dot and "n_s_bn -> n_b" in dot
    assert not re.search(r"^n_s \[", dot, flags=re.M), "the nested layer is the cluster, not a node"
    wider = tmp_path / "wider.yaml"
    wider.write_text(spec.read_text(encoding="utf-8").replace("filters: 4, kernel_size: 3", "filters: 8, kernel_size: 3"),
                     encoding="utf-8")
    result = diff(graph, layer_graph(wider))  # s_conv's width changes s_bn's and b's weights, and s's shape
    assert {c["name"] for c in result["changed"]} == {"s_conv", "s_bn", "s", "b"}
    blocked = {item["name"] for item in result["weights"]["by_name"]["blocked"]}
    assert blocked == {"s", "b"} and not result["weights"]["by_order"]


RESIDUAL = """\
archspec: 1
name: residual
input: [8, 8, 3]
stages:
  s:
    body:
      - {op: conv2d, filters: 3, kernel_size: 1, name: a}
      - {op: conv2d, filters: 3, kernel_size: 1, name: b}
      - {op: add_tensors, in: [input, prev]}
      - {op: add, in: [input, prev]}
"""


def test_a_merge_that_is_an_operation_is_not_a_layer(tmp_path):
    """``x + y`` between Keras tensors is the operation 'add' (outside model.layers, counting for the order
    and the auto-names, so the Add layer after it is 'add_1'), exactly as Keras records it."""
    keras.backend.clear_session()
    x = keras.Input((8, 8, 3))
    y = x + keras.layers.Conv2D(3, 1, name="b")(keras.layers.Conv2D(3, 1, name="a")(x))
    model = keras.Model(x, keras.layers.Add()([x, y]))
    spec = tmp_path / "residual.yaml"
    spec.write_text(RESIDUAL, encoding="utf-8")
    graph = layer_graph(spec)
    assert [graph.layers[n].name for n in keras_operation_order(graph)] == [o.name for o in model.operations]
    assert [graph.layers[n].name for n in keras_layer_order(graph)] == [layer.name for layer in model.layers]
    summary = summarize(graph)
    assert (summary["layers"], summary["operations"]) == (len(model.layers), 1)
    assert 'shape=ellipse' in to_dot(graph).to_string().split("n_add ")[1].split("\n")[0]
    ours = archspec.build(spec)
    assert [(o.name, type(o).__name__) for o in ours.operations] == [(o.name, type(o).__name__)
                                                                       for o in model.operations]


@pytest.mark.parametrize("step, message", [
    ("{op: conv2d, filters: 4, kernel_size: 1, as: inner}", "cannot use 'as'"),
    ("{op: add, branches: [[], []]}", "cannot use 'branches'"),
    ("{sequential: [{op: conv2d, filters: 4, kernel_size: 1}]}", "cannot nest another 'sequential'"),
    ("{op: multiply_scalar, value: 2.0}", "op 'multiply_scalar' is a Keras operation, not a layer"),
])
def test_a_step_that_breaks_the_chain_is_a_located_error(tmp_path, cli, step, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text("archspec: 1\nname: bad\ninput: [8, 8, 3]\nstages:\n  s:\n    body:\n"
                    f"      - sequential:\n          - {step}\n        name: n\n", encoding="utf-8")
    code, out, err = cli("validate", spec)
    assert code == 1
    assert re.search(rf"bad\.yaml:8:\d+: error: [^\n]*{re.escape(message)}", out + err)

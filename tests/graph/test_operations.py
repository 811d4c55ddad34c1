"""Ops that are Keras operations, not layers (``OpDef.layer`` false): order, names, weights and exports.

Why: keras.applications writes some arithmetic on tensors (MobileNetV3's ``ReLU(6.)(x + 3.0) * (1/6)``).
Such an operation is a node of the functional graph: it counts for Keras's depth-first numbering and depths
(hence the order of ``model.layers`` and by-order weight loading) and takes an auto-name from the counters
layers use, but it is not in ``model.layers``. The docs' example (docs/spec-language.md, "Operations that
are not layers") is checked here against the same model written directly in Keras.
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
from archspec.export.nodes import named_graph
from archspec.export.summary import format_table, summarize
from archspec.graph.order import keras_layer_order, keras_operation_order
from tests.support.paths import ROOT
from tests.support.reference import randomize_weights, write_legacy_h5


def _docs_example() -> str:
    doc = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    return next(b for b in re.findall(r"```yaml\n(.*?)```", doc, flags=re.S) if "name: gated" in b)


def _reference() -> keras.Model:
    """The docs' example as one writes it in Keras (MobileNetV3's hard sigmoid), in a fresh session."""
    keras.backend.clear_session()
    x = keras.Input((8, 8, 3))
    left = keras.layers.Conv2D(4, 1, name="a2")(keras.layers.Conv2D(4, 1, name="a")(x))
    gate = keras.layers.Conv2D(4, 1, name="b")(x)
    gate = keras.layers.ReLU(6.0)(gate + 3.0) * (1.0 / 6.0)
    return keras.Model(x, keras.layers.Add()([left, gate]))


def _operations(model: keras.Model) -> list[tuple[str, str, bool, list[str]]]:
    out = []
    for op in model.operations:
        (node,) = op._inbound_nodes
        out.append((op.name, type(op).__name__, isinstance(op, keras.layers.Layer),
                    [t._keras_history.operation.name for t in node.input_tensors]))
    return out


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ops") / "gated.yaml"
    path.write_text(_docs_example(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> tuple[keras.Model, Path]:
    model = _reference()
    randomize_weights(model, seed=0)
    path = tmp_path_factory.mktemp("ref") / "gated.h5"
    write_legacy_h5(model, path)
    return model, path


def test_order_and_names_from_the_graph_alone_are_keras(spec, ref):
    model, _ = ref
    graph = layer_graph(spec)
    assert [graph.layers[n].name for n in keras_operation_order(graph)] == [o.name for o in model.operations]
    assert [graph.layers[n].name for n in keras_layer_order(graph)] == [layer.name for layer in model.layers]
    assert [layer.name for layer in model.layers] == ["input_layer", "b", "a", "re_lu", "a2", "add_1"]


def test_operations_count_for_the_layer_order(spec, tmp_path):
    """Without the two operations, b's branch is as deep as a's and a (visited first) comes first: the
    file's b would load into a. With them, b is deeper and comes first, as in Keras."""
    text = spec.read_text(encoding="utf-8")
    plain = tmp_path / "plain.yaml"
    plain.write_text("\n".join(line for line in text.splitlines() if "_scalar" not in line), encoding="utf-8")
    order = lambda g: [g.layers[n].name for n in keras_layer_order(g) if g.layers[n].weights]  # noqa: E731
    assert order(layer_graph(plain)) == ["a", "b", "a2"]
    assert order(layer_graph(spec)) == ["b", "a", "a2"]


def test_built_model_equals_keras_and_loads_by_order_and_by_name(spec, ref, tmp_path):
    model, path = ref
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype("float32")
    want = keras.ops.convert_to_numpy(model(x))
    for by_name in (False, True):
        ours = archspec.build(spec, weights=path, by_name=by_name)
        assert _operations(ours) == _operations(model)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x)), want, rtol=1e-5, atol=1e-6)
    saved = tmp_path / "gated.keras"
    ours.save(saved)
    back = keras.models.load_model(saved)
    assert _operations(back) == _operations(model)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(back(x)), want, rtol=1e-5, atol=1e-6)


def test_operations_share_auto_name_counters_and_take_explicit_names(tmp_path):
    """As in Keras: ``x + 1.0`` is 'add', so the next auto-named Add layer is 'add_1'; a named op keeps its
    name (and auto-names skip explicit names, as for layers)."""
    path = tmp_path / "names.yaml"
    path.write_text("archspec: 1\nname: n\ninput: [4, 4, 2]\nstages:\n  s:\n    body:\n"
                    "      - {op: add_scalar, value: 1.0, as: one}\n"
                    "      - {op: add, in: [input, one]}\n"
                    "      - {op: multiply_scalar, value: 2, name: multiply}\n"
                    "      - {op: multiply_scalar, value: 3}\n", encoding="utf-8")
    graph = layer_graph(path)
    assert [layer.name for layer in graph.layers] == ["input_layer", "add", "add_1", "multiply", "multiply_1"]
    assert [layer.name for layer in graph.layers if layer.auto_named] == ["input_layer", "add", "add_1",
                                                                          "multiply_1"]
    model = archspec.build(path)
    assert [o.name for o in model.operations] == ["input_layer", "add", "add_1", "multiply", "multiply_1"]
    assert [layer.name for layer in model.layers] == ["input_layer", "add_1"]
    x = np.ones((1, 4, 4, 2), "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), (1 + 2) * 2 * 3)


def test_exports_show_operations_apart(spec, ref, tmp_path):
    model, _ = ref
    graph = layer_graph(spec)
    summary = summarize(graph)
    assert (summary["layers"], summary["operations"]) == (len(model.layers), 2)
    assert "plus 2 Keras operations that are not layers" in format_table(summary).splitlines()[0]

    named = named_graph(graph)
    ops = {n: d for n, d in named.nodes(data=True) if not d["layer"]}
    assert set(ops) == {"add", "multiply"}
    assert all(d["keras_index"] is None for d in ops.values())
    by_layer = sorted((d["keras_index"], n) for n, d in named.nodes(data=True) if d["layer"])
    assert [n for _, n in by_layer] == [layer.name for layer in model.layers]
    by_op = sorted((d["keras_operation_index"], n) for n, d in named.nodes(data=True))
    assert [n for _, n in by_op] == [o.name for o in model.operations]

    text = to_dot(graph).to_string()
    assert "gated: 6 layers + 2 ops," in text
    for name, what in (("add", "op add_scalar x + 3"), ("multiply", "op multiply_scalar x * 0.1667")):
        (line,) = [ln for ln in text.splitlines() if ln.startswith(f"n_{name} [")]
        assert "shape=ellipse" in line and f"\\n{what}\\n" in line
    assert "shape=ellipse" not in next(ln for ln in text.splitlines() if ln.startswith("n_add_1 ["))

    plain = tmp_path / "plain.yaml"
    plain.write_text(spec.read_text().replace("      - {op: multiply_scalar, value: 1 / 6}", ""), encoding="utf-8")
    totals = diff(graph, layer_graph(plain))["totals"]
    assert totals["layers"]["delta"] == 0 and totals["operations"] == {"a": 2, "b": 1, "delta": -1}

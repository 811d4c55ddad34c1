"""Every op is one complete record, and every part of it agrees with the Keras layer it emits.

A new op that lacks a part (doc, example, Keras rule, weight initializers, a docs row, a schema entry)
or whose shape/weights disagree with Keras fails here, not in a user's build.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from keras.src.utils.naming import to_snake_case

import archspec
from archspec.backend.keras_emitters import LAYERS, emit_model
from archspec.lang.schema_gen import build_schema
from archspec.ops import OPS
from archspec.ops.table import BEGIN, END, markdown
from tests.support.paths import ROOT

INPUT = [6, 6, 4]


def _network(op) -> str:
    """A tiny network around the op's documented example: a vector for ops that take one, two inputs for merges."""
    step = yaml.safe_load(op.example)
    pre = []
    if op.name in ("dense", "reshape"):
        pre = [{"op": "global_avg_pool"}]
    elif op.name == "broadcast_like":  # a (1, 1, C) map
        pre = [{"op": "global_avg_pool", "keepdims": True}]
    elif op.min_inputs > 1:
        pre = [{"op": "conv2d", "filters": INPUT[2], "kernel_size": 1}]
    return yaml.safe_dump({"archspec": 1, "name": f"one_{op.name}", "input": INPUT,
                           "stages": {"s": {"body": [*pre, step]}}}, sort_keys=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """For each op: its graph node, the Keras layer (or, for ``layer=False`` ops, the Keras operation) it
    became, and the model, built once."""
    out = {}
    folder = tmp_path_factory.mktemp("ops")
    for op in OPS.values():
        path = folder / f"{op.name}.yaml"
        path.write_text(_network(op), encoding="utf-8")
        graph = archspec.api.layer_graph(path)
        model = emit_model(graph, initialize=False)
        node = graph.output_layer
        (operation,) = [o for o in model.operations if o.name == node.name]
        out[op.name] = (node, operation, model)
    return out


@pytest.mark.parametrize("name", sorted(OPS))
def test_record_is_complete(name: str) -> None:
    op = OPS[name]
    assert op.doc.strip() and op.doc.endswith("."), "one documented sentence"
    assert op.keras_class and callable(op.keras) and callable(op.shape) and callable(op.weights)
    assert re.fullmatch(r"#[0-9a-f]{6}", op.fill)
    assert all(attr.doc for attr in op.attrs.values()), "every attribute documented"
    assert yaml.safe_load(op.example)["op"] == name, "the example is a step of this op"


# What each op that is not a layer computes from its inputs, for the test below.
NUMPY = {
    "add_scalar": lambda xs, a: xs[0] + np.float32(a["value"]),
    "multiply_scalar": lambda xs, a: xs[0] * np.float32(a["value"]),
    "add_tensors": lambda xs, a: xs[0] + xs[1],
    "multiply_tensors": lambda xs, a: xs[0] * xs[1],
    "channel_slice": lambda xs, a: xs[0][..., a["start"]:a["stop"]],
    "channel_shuffle": lambda xs, a: xs[0].reshape(*xs[0].shape[:-1], a["groups"], -1).swapaxes(-1, -2).reshape(
        xs[0].shape),
    "broadcast_like": lambda xs, a: np.broadcast_to(xs[0], (1, *INPUT[:2], xs[0].shape[-1])),
    "resize_like": lambda xs, a: xs[0],  # to its own size: the identity
    "pad": lambda xs, a: np.pad(xs[0], [[0, 0], *a["padding"], [0, 0]], constant_values=a["value"]),
}


@pytest.mark.parametrize("name", sorted(name for name, op in OPS.items() if not op.layer))
def test_emitted_operation_is_in_the_graph_and_not_a_layer(name: str, built: dict) -> None:
    """An op with ``layer=False`` is one named Keras operation (the class ``x + c`` creates, keras.ops's), a
    node of the functional graph reading the op's inputs in order (the network's input; for a merge, the
    input and the 1x1 convolution of it, as the example's ``in: [input, prev]`` says), with no weights and
    absent from model.layers."""
    node, operation, model = built[name]
    op = OPS[name]
    assert not isinstance(operation, keras.layers.Layer) and isinstance(operation, keras.Operation)
    assert type(operation).__name__ == op.keras_class and type(operation).__module__.startswith("keras.src.ops.")
    assert op.auto_prefix == to_snake_case(op.keras_class), "archspec auto-names as Keras does"
    assert node.name not in [layer.name for layer in model.layers]
    pre = "global_average_pooling2d" if name == "broadcast_like" else "conv2d"
    sources = ["input_layer"] if op.min_inputs == 1 else ["input_layer", pre]
    assert [o.name for o in model.operations] == [*sources, node.name]
    # the inputs the Keras node reads: all, or (keras_inputs) the first ones; resize_like's 'input' gives a size
    sources = [pre] if op.keras_inputs == 1 and op.min_inputs > 1 else sources
    (keras_node,) = operation._inbound_nodes
    assert [t._keras_history.operation.name for t in keras_node.input_tensors] == sources
    assert tuple(keras_node.outputs[0].shape[1:]) == node.shape, "shape rule = Keras output shape"
    assert not node.weights and len(model.weights) == (2 if pre == "conv2d" and op.min_inputs > 1 else 0)
    assert name in NUMPY, "say what the op computes, in NumPy"
    x = np.random.default_rng(0).standard_normal((1, *INPUT)).astype("float32")
    probe = keras.Model(model.input, list(keras_node.input_tensors))(x)
    inputs = [keras.ops.convert_to_numpy(t) for t in (probe if isinstance(probe, (list, tuple)) else [probe])]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), NUMPY[name](inputs, node.attrs), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(name for name, op in OPS.items() if op.layer))
def test_emitted_layer_matches_the_record(name: str, built: dict) -> None:
    node, layer, _ = built[name]
    op = OPS[name]
    assert isinstance(layer, keras.layers.Layer)
    assert type(layer).__name__ == op.keras_class
    assert op.auto_prefix == to_snake_case(op.keras_class), "archspec auto-names as Keras does"
    assert tuple(layer.output.shape[1:]) == node.shape, "shape rule = Keras output shape"
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in node.weights], "weights manifest"
    declared = op.keras(LAYERS, node.attrs, "fresh")
    for weight, variable in zip(node.weights, layer.weights):
        if weight.initializer:
            # the fast path (a weight file sets everything) zeroed it instead of drawing random numbers ...
            assert not np.any(keras.ops.convert_to_numpy(variable)), f"{weight.name} was drawn at random"
            # ... and gave the layer its declared initializer back
            assert type(getattr(layer, weight.initializer)) is type(getattr(declared, weight.initializer))


def test_flatten_orders_features_as_keras() -> None:
    """The op added to show the cost of a new op: (H, W, C) -> (H*W*C,), channels-last order."""
    graph_in = np.arange(2 * 3 * 4, dtype="float32").reshape(1, 2, 3, 4)
    text = ("archspec: 1\nname: f\ninput: [2, 3, 4]\nstages:\n  s:\n    body:\n      - {op: flatten, name: flat}\n"
            "      - {op: dense, units: 5, name: fc}\n")
    path = ROOT / "build" / "flatten_case.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    graph = archspec.api.layer_graph(path)
    assert graph.layers[1].shape == (24,) and graph.layers[2].weights[0].shape == (24, 5)
    assert graph.layers[2].macs == 24 * 5
    model = archspec.build(path)
    flat = keras.Model(model.input, model.get_layer("flat").output)
    assert np.array_equal(keras.ops.convert_to_numpy(flat(graph_in)), graph_in.reshape(1, -1))


def test_flatten_needs_a_fixed_size(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("archspec: 1\nname: f\ninput: [null, null, 4]\nstages:\n  s:\n    body:\n"
                    "      - {op: flatten}\n", encoding="utf-8")
    problems = archspec.validate(path)
    assert [d.location.line for d in problems] == [7]
    assert "flatten needs a fixed input size" in problems[0].message


def test_docs_op_table_is_generated_from_the_registry() -> None:
    text = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    section = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert section == markdown(), "stale: run python -m archspec.ops.table --write docs/spec-language.md"
    assert all(f"| `{name}` |" in section for name in OPS)


def test_schema_knows_every_op() -> None:
    shipped = json.loads((ROOT / "archspec" / "lang" / "schema.json").read_text(encoding="utf-8"))
    assert shipped == build_schema(), "stale: python -m archspec.lang.schema_gen > archspec/lang/schema.json"
    assert set(OPS) <= set(json.dumps(shipped).split('"')), "every op named in the schema"

"""Several named outputs (``output: NAME``), heads that read carried values, templates with tensor parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from archspec.api import layer_graph
from archspec.errors import SpecError
from archspec.export.diff import diff, format_text
from archspec.export.dot import to_dot
from archspec.export.nodes import named_graph
from archspec.export.summary import format_table, summarize
from archspec.graph.order import keras_layer_order

SPEC = """\
archspec: 1
name: outs
input: [16, 16, 3]
templates:
  fuse:
    tensors: [skip]
    body:
      - {op: conv2d, filters: 4, kernel_size: 1}
      - {op: concat, in: [skip, prev]}
stages:
  enc1: {body: [{op: conv2d, filters: 4, kernel_size: 3, padding: same, name: e1}], carry: {c1: prev}}
  enc2: {body: [{op: conv2d, filters: 8, kernel_size: 3, strides: 2, padding: same, name: e2}]}
  dec: {body: [{op: conv2d, filters: 4, kernel_size: 1, name: d}]}
head:
  top:
    - {op: conv2d, filters: 2, kernel_size: 1, name: main, output: out}
    - {op: conv2d, in: c1, filters: 3, kernel_size: 1, name: side, output: aux}
  none:
    - {use: fuse, skip: input, output: feat}
"""


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "outs.yaml"
    path.write_text(SPEC)
    return path


def test_the_graph_and_its_views_show_every_output(spec: Path) -> None:
    graph = layer_graph(spec)
    assert {k: v.name for k, v in graph.named_outputs().items()} == {"out": "main", "aux": "side"}
    assert graph.layers[graph.outputs["aux"]].shape == (16, 16, 3)  # the head read c1, the first stage's output
    text = format_table(summarize(graph))
    assert "output out: 8x8x2 (main)" in text and "output aux: 16x16x3 (side)" in text
    assert named_graph(graph).graph["outputs"] == {"out": "main", "aux": "side"}
    dot = to_dot(graph).to_string()
    assert "out_aux" in dot and "n_side -> out_aux" in dot
    other = layer_graph(spec, include_top=False)
    assert {k: v.name for k, v in other.named_outputs().items()} == {"feat": "concatenate"}
    assert "output out: main 8x8x2 -> none" in format_text(diff(graph, other), graph, other)


def test_layer_order_and_outputs_match_keras(spec: Path) -> None:
    import numpy as np

    import archspec

    model = archspec.build(spec)
    graph = layer_graph(spec)
    assert [layer.name for layer in model.layers] == [graph.layers[n].name for n in keras_layer_order(graph)]
    out = model(np.zeros((1, 16, 16, 3), "float32"))
    assert list(out) == ["out", "aux"] and tuple(out["aux"].shape) == (1, 16, 16, 3)
    assert [t.shape[-1] for t in model.outputs] == [3, 2]  # Keras lists a dict's tensors sorted by name


def test_tensor_argument_must_name_a_value(spec: Path) -> None:
    spec.write_text(SPEC.replace("skip: input", "skip: c9"))
    with pytest.raises(SpecError, match=r"outs.yaml:19:\d+: error: unknown value 'c9' in 'skip'"):
        layer_graph(spec, include_top=False)

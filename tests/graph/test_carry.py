"""Carried values (a stage's ``carry``, a template's ``carried``): cells that read an older value.

Why: NASNet's cells take their input and the previous cell's input; the language threads that second
value through stages with ``carry``. The docs' example must wire exactly that, and the Keras model it
builds must be the model written by hand in Keras (layer order, names, outputs).
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest

import archspec
from archspec.errors import SpecError
from tests.support.paths import ROOT


def _docs_example() -> str:
    """The spec under 'Cells that read an older value' in docs/spec-language.md, as written there."""
    text = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    section = text[text.index("*Cells that read an older value*"):]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def _inputs(graph, name: str) -> list[str]:
    nodes = graph.nodes
    (nid,) = [n for n, d in nodes.items() if d["name"] == name]
    return [nodes[src]["name"] for src, _ in sorted(graph.in_edges(nid), key=lambda e: graph.edges[e]["port"])]


@pytest.fixture
def example(tmp_path) -> Path:
    path = tmp_path / "two_paths.yaml"
    path.write_text(_docs_example(), encoding="utf-8")
    return path


def test_docs_example_reads_the_previous_cells_input(example):
    assert archspec.validate(example) == []
    graph = archspec.expand(example)
    assert _inputs(graph, "cells_block1_p") == ["stem"]            # the stem carries its output
    assert _inputs(graph, "cells_block2_p") == ["stem"]            # cell 1's input
    assert _inputs(graph, "cells_block3_p") == ["cells_block1_add"]  # cell 2's input
    assert _inputs(graph, "cells_block3_x") == ["cells_block2_add"]


def test_docs_example_is_the_model_written_in_keras(example):
    keras.backend.clear_session()  # the hand-written input is auto-named as in a fresh process
    inp = keras.Input((8, 8, 3))
    conv = lambda name: keras.layers.Conv2D(4, 1, name=name)  # noqa: E731
    stem = conv("stem")(inp)
    x, p = stem, stem
    for k in (1, 2, 3):
        out = keras.layers.Add(name=f"cells_block{k}_add")([conv(f"cells_block{k}_x")(x), conv(f"cells_block{k}_p")(p)])
        x, p = out, x
    reference = keras.Model(inp, x)
    ours = archspec.build(example)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in reference.layers]
    ours.set_weights(reference.get_weights())  # by order
    images = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(ours(images), reference(images), rtol=1e-5, atol=1e-6)


def test_a_value_carried_unchanged_and_a_use_call_passing_the_callers_value(tmp_path):
    path = tmp_path / "keep.yaml"
    path.write_text("""archspec: 1
name: keep
input: [8, 8, 3]
templates:
  read_p:
    carried: [p]
    body:
      - {op: add, in: [input, p], name: "{block}_sum"}
  cell:
    carried: [p]
    body:
      - {op: conv2d, filters: 3, kernel_size: 1, name: "{block}_conv"}
      - {use: read_p}
stages:
  stem: {body: [{op: conv2d, filters: 3, kernel_size: 1, name: stem}], carry: {p: input}}
  a: {block: cell, carry: {p: p}}
  b: {block: cell}
""", encoding="utf-8")
    assert archspec.validate(path) == []
    graph = archspec.expand(path)
    # read_p reads its caller's p: the carried value, the stem's input
    assert _inputs(graph, "a_block1_sum") == ["a_block1_conv", "input_layer"]
    # stage a carries p: p, the value it read, so b reads the stem's input too
    assert _inputs(graph, "b_block1_sum") == ["b_block1_conv", "input_layer"]


def test_a_use_call_of_a_template_reading_an_unbound_value_is_a_located_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("""archspec: 1
name: bad
input: [8, 8, 3]
templates:
  read_p:
    carried: [p]
    body:
      - {op: add, in: [input, p]}
stages:
  s: {body: [{use: read_p}]}
""", encoding="utf-8")
    (problem,) = archspec.validate(path)
    assert "template 'read_p' reads the carried value 'p', which is not bound here" in problem.message
    assert problem.location.line == 10
    with pytest.raises(SpecError) as err:
        archspec.expand(path)
    assert err.value.diagnostics[0].message == problem.message

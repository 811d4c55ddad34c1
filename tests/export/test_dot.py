"""DOT export: legal for awkward names, parses back, renders with Graphviz, stable ids, collapsed levels."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from archspec.api import layer_graph
from archspec.export.dot import to_dot
from archspec.export.nodes import groups
from archspec.lang.sources import bundled_names
from tests.export.dotparse import all_nodes, clusters, graphviz_view, layer_view, parse, unquote

SPECS = bundled_names()

AWKWARD = """\
archspec: 1
name: awkward
input: [16, 16, 3]
stages:
  conv1:
    body:
      - {op: conv2d, filters: 4, kernel_size: 3, name: conv1:conv}
      - {op: batch_norm, name: node}
  s2:
    repeat: 2
    block_name: "{stage}:{i}"
    body:
      - {op: conv2d, filters: 4, kernel_size: 1, name: "Block35_{i}_Branch_0_Conv2d_1x1", as: a}
      - {op: conv2d, in: input, filters: 4, kernel_size: 1, name: "a:b{i}"}
      - {op: add, in: [a, prev], name: 'x"y{i}'}
      - {op: activation, activation: relu, name: "edge{i}"}
      - {op: activation, activation: relu, name: 'back\\slash{i}'}
head:
  top:
    - {op: global_avg_pool, name: graph}
    - {op: dense, units: 3, name: a-b}
    - {op: activation, activation: softmax, name: a_b}
"""


def _dot_exe() -> str:
    exe = shutil.which("dot")
    assert exe, "Graphviz 'dot' is required for these tests (apt-get install graphviz)"
    return exe


@pytest.fixture
def awkward(tmp_path: Path):
    path = tmp_path / "awkward.yaml"
    path.write_text(AWKWARD)
    return layer_graph(path)


def test_awkward_names_are_legal_dot_and_round_trip(awkward) -> None:
    text = to_dot(awkward).to_string()
    names, edges, _ = layer_view(text)
    expected = {d.name for d in awkward.layers}
    assert "conv1:conv" in expected and 'x"y1' in expected and "back\\slash2" in expected
    assert sorted(names.values()) == sorted(expected)
    by_id = awkward.layers
    assert edges == {(by_id[u].name, layer.name) for layer in by_id for u in layer.inputs}
    proc = subprocess.run([_dot_exe(), "-Tsvg"], input=text.encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"conv1:conv" in proc.stdout and b"x&quot;y1" in proc.stdout


def test_merge_edges_carry_their_input_position(awkward) -> None:
    dot = parse(to_dot(awkward).to_string())
    ports = {unquote(e.get("headlabel") or "") for e in dot.get_edges()
             if e.get_destination().startswith("n_x_y1")}
    assert ports == {"0", "1"}


def test_ids_are_stable_when_layers_are_inserted() -> None:
    """Common layers keep their node lines, so DOT diffs between commits show only what changed."""
    small = to_dot(layer_graph("resnet50")).to_string().splitlines()
    big = set(to_dot(layer_graph("resnet101")).to_string().splitlines())
    node_lines = [line for line in small if line.startswith("n_") and "->" not in line]
    assert len(node_lines) == 177
    assert all(line in big for line in node_lines if "conv4_block6" not in line)
    assert to_dot(layer_graph("resnet50")).to_string().splitlines() == small  # deterministic


@pytest.mark.parametrize("spec", SPECS)
def test_every_bundled_spec_at_every_level(spec: str) -> None:
    """Layer level is read back by Graphviz (pydot's parser takes ~10 s on 800 layers); collapsed levels by pydot."""
    graph = layer_graph(spec)
    nodes = graph.layers
    names, edges = graphviz_view(to_dot(graph).to_string())
    drawn = [d for d in nodes if not d.members]  # a nested layer is the cluster around its members
    outputs = graph.named_outputs()  # each named output is a node of its own, fed by the layer it returns
    assert sorted(names.values()) == sorted([d.name for d in drawn] + [f"output {k}" for k in outputs])
    out = {d.id: nodes[d.members[-1]].name if d.members else d.name for d in nodes}  # its last member feeds on
    assert edges == ({(out[u], layer.name) for layer in drawn for u in layer.inputs}
                     | {(out[layer.id], f"output {k}") for k, layer in outputs.items()})
    for level in ("block", "stage"):
        found = groups(graph, level)
        collapsed = parse(to_dot(graph, level).to_string())
        labels = [unquote(n.get("label")).split("\n") for n in all_nodes(collapsed)]
        drawn_outputs = {lab[0]: lab[-1] for lab in labels if lab[0] in {f"output {k}" for k in outputs}}
        assert drawn_outputs == {f"output {k}": "x".join(map(str, layer.shape)) for k, layer in outputs.items()}
        labels = [lab for lab in labels if lab[0] not in drawn_outputs]
        assert sorted(lab[0] for lab in labels) == sorted(found)
        for lab in labels:  # the output shape is the last label line
            assert lab[-1] == "x".join(map(str, nodes[found[lab[0]].output].shape))
        if level == "block":
            stages = {d.stage for d in nodes} - {"input"}
            assert {c for c in clusters(collapsed)} == {f"cluster_s_{s}" for s in stages}


def test_layer_level_parses_back_with_pydot_with_nested_clusters() -> None:
    graph = layer_graph("resnet50")
    names, edges, dot = layer_view(to_dot(graph).to_string())
    assert sorted(names.values()) == sorted(d.name for d in graph.layers)
    assert len(edges) == sum(len(layer.inputs) for layer in graph) == 192
    found = clusters(dot)
    assert "cluster_s_conv4" in found and "cluster_b_conv4_block6" in found
    assert "cluster_b_conv1_block1" not in found  # a one-block stage gets no inner cluster
    assert len(found) == 6 + 16  # conv1..conv5 + head; 3 + 4 + 6 + 3 blocks


@pytest.mark.parametrize("spec", ["resnet50", "inception_resnet_v2"])
def test_renders_with_graphviz(spec: str, tmp_path: Path) -> None:
    graph = layer_graph(spec)
    for level in ("stage", "layer"):
        out = tmp_path / f"{spec}-{level}.svg"
        proc = subprocess.run([_dot_exe(), "-Tsvg", "-o", str(out)], input=to_dot(graph, level).to_string().encode(),
                              capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode()
        svg = out.read_text()
        assert svg.count('class="node"') == (len(graph) if level == "layer"
                                             else len(groups(graph, "stage")))


def test_stage_level_edges_carry_shapes() -> None:
    graph = layer_graph("resnet50")
    dot = parse(to_dot(graph, "stage", rankdir="LR").to_string())
    shown = {(e.get_source(), e.get_destination()): unquote(e.get("label")) for e in dot.get_edges()}
    assert shown == {("s_input", "s_conv1"): "224x224x3", ("s_conv1", "s_conv2"): "56x56x64",
                     ("s_conv2", "s_conv3"): "56x56x256", ("s_conv3", "s_conv4"): "28x28x512",
                     ("s_conv4", "s_conv5"): "14x14x1024", ("s_conv5", "s_head"): "7x7x2048"}
    assert "rankdir=LR" in dot.to_string()

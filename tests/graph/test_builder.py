"""Graph expansion: counts, wiring, names, per-repeat overrides and located shape errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import archspec
from archspec import SpecError
from tests.support.files import write

HEADER = "archspec: 1\nname: t\ninput: [32, 32, 3]\n"


def net(tmp_path: Path, body: str, name: str = "t.yaml") -> Path:
    """A network file: HEADER, then ``body``."""
    return write(tmp_path / name, HEADER + textwrap.dedent(body))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def by_name(graph):
    return {d["name"]: (n, d) for n, d in graph.nodes(data=True)}


@pytest.mark.parametrize("spec,params,weighted", [
    ("resnet50", 25_636_712, 107), ("resnet101", 44_707_176, 209), ("resnet152", 60_419_944, 311)])
def test_resnet_counts_match_keras_applications_published_numbers(spec, params, weighted):
    graph = archspec.expand(spec)
    nodes = graph.nodes.values()
    assert sum(n["params"] for n in nodes) == params
    assert sum(1 for n in nodes if n["weights"]) == weighted


def test_projection_block_wires_shortcut_first_and_identity_block_uses_block_input():
    graph = archspec.expand("resnet50")
    names = by_name(graph)
    nid, add = names["conv2_block1_add"]
    assert [graph.nodes[i]["name"] for i in add["inputs"]] == ["conv2_block1_0_bn", "conv2_block1_3_bn"]
    nid, add2 = names["conv2_block2_add"]
    assert [graph.nodes[i]["name"] for i in add2["inputs"]] == ["conv2_block1_out", "conv2_block2_3_bn"]
    assert "conv2_block2_0_conv" not in names
    assert names["conv3_block1_1_conv"][1]["attrs"]["strides"] == 2
    assert names["conv3_block2_1_conv"][1]["attrs"]["strides"] == 1
    # edges carry the merge position
    assert graph.edges[names["conv2_block1_0_bn"][0], names["conv2_block1_add"][0]]["port"] == 0


def test_nodes_carry_shape_location_and_membership():
    graph = archspec.expand("resnet50")
    _, conv = by_name(graph)["conv4_block3_2_conv"]
    assert conv["shape"] == (14, 14, 256)
    assert conv["stage"] == "conv4" and conv["block"] == "conv4_block3"
    assert conv["loc"].file.endswith("lib/resnet.yaml") and conv["loc"].line > 1
    assert conv["params"] == 3 * 3 * 256 * 256 + 256


def test_options_switch_heads_and_input_shape():
    graph = archspec.expand("resnet50", include_top=False, pooling="max", input_shape=(64, 64, 3))
    out = graph.nodes[graph.graph["output"]]
    assert out["name"] == "max_pool" and out["shape"] == (2048,)
    graph = archspec.expand("resnet50", classes=10)
    assert graph.nodes[graph.graph["output"]]["shape"] == (10,)
    graph = archspec.expand("resnet50", include_top=False)
    assert graph.nodes[graph.graph["output"]]["name"] == "conv5_block3_out"


def test_auto_names_are_deterministic_and_keras_style(tmp_path):
    path = net(tmp_path, """
        stages:
          a: {body: [{op: conv2d, filters: 4, kernel_size: 3}, {op: conv2d, filters: 4, kernel_size: 3, name: conv2d_1},
                     {op: conv2d, filters: 4, kernel_size: 3}, {op: batch_norm}]}
        """)
    first = [d["name"] for _, d in archspec.expand(path).nodes(data=True)]
    second = [d["name"] for _, d in archspec.expand(path).nodes(data=True)]
    assert first == second == ["input_layer", "conv2d", "conv2d_1", "conv2d_2", "batch_normalization"]


def test_at_overrides_first_last_index_and_negative(tmp_path):
    path = net(tmp_path, """
        templates:
          c:
            params: {f: 1}
            body: [{op: conv2d, filters: f, kernel_size: 1, name: "{block}"}]
        stages:
          s: {block: c, repeat: 5, f: 2, at: {first: {f: 10}, last: {f: 50}, 3: {f: 30}, -2: {f: 40}}}
        """)
    graph = archspec.expand(path)
    got = [d["attrs"]["filters"] for _, d in graph.nodes(data=True) if d["op"] == "conv2d"]
    assert got == [10, 2, 30, 40, 50]


def test_skipped_step_passes_input_through_and_still_binds(tmp_path):
    path = net(tmp_path, """
        templates:
          blk:
            params: {proj: false}
            body:
              - {op: conv2d, if: proj, filters: 3, kernel_size: 1, as: sc}
              - {op: conv2d, in: input, filters: 3, kernel_size: 3, padding: same}
              - {op: add, in: [sc, prev]}
        stages:
          s: {block: blk, repeat: 2, at: {first: {proj: true}}}
        """)
    graph = archspec.expand(path)
    adds = [d for _, d in graph.nodes(data=True) if d["op"] == "add"]
    first_inputs = [graph.nodes[i]["op"] for i in adds[0]["inputs"]]
    second_inputs = [graph.nodes[i]["name"] for i in adds[1]["inputs"]]
    assert first_inputs == ["conv2d", "conv2d"]
    assert second_inputs[0] == adds[0]["name"]  # identity shortcut: the block input


def test_branches_merge_in_written_order_with_identity_branch(tmp_path):
    path = net(tmp_path, """
        stages:
          s:
            body:
              - op: concat
                name: mixed
                branches:
                  - [{op: conv2d, filters: 2, kernel_size: 1, name: b0}]
                  - []
                  - [{op: avg_pool, pool_size: 3, strides: 1, padding: same, name: pool},
                     {op: conv2d, filters: 5, kernel_size: 1, name: b2}]
        """)
    graph = archspec.expand(path)
    _, mixed = by_name(graph)["mixed"]
    assert [graph.nodes[i]["name"] for i in mixed["inputs"]] == ["b0", "input_layer", "b2"]
    assert mixed["shape"] == (32, 32, 2 + 3 + 5)


def test_expressions_see_input_shape_vars_and_repeat_index(tmp_path):
    path = net(tmp_path, """
        vars: {growth: 4}
        templates:
          grow:
            body:
              - {op: conv2d, filters: growth * i, kernel_size: 1, name: "g{i}_{letter}"}
              - {op: concat, in: [input, prev], name: "{block}_cat"}
          half:
            body: [{op: conv2d, filters: int(in_channels * 0.5), kernel_size: 1, name: trans}]
        stages:
          dense: {block: grow, repeat: 3}
          t: {block: half}
        """)
    graph = archspec.expand(path)
    names = by_name(graph)
    assert names["dense_block3_cat"][1]["shape"] == (32, 32, 3 + 4 + 8 + 12)
    assert names["g2_b"][1]["attrs"]["filters"] == 8
    assert names["trans"][1]["shape"] == (32, 32, (3 + 4 + 8 + 12) // 2)


def test_add_shape_mismatch_names_both_shapes_and_the_spec_line(tmp_path):
    path = net(tmp_path, """
        stages:
          s:
            body:
              - {op: conv2d, filters: 8, kernel_size: 1, as: a}
              - {op: conv2d, in: input, filters: 4, kernel_size: 1, as: b}
              - {op: add, in: [a, b], name: bad_add}
        """)
    with pytest.raises(SpecError) as info:
        archspec.expand(path)
    diag = info.value.diagnostics[0]
    assert diag.location.file == str(path) and diag.location.line == line_of(path, "name: bad_add")
    assert "(32, 32, 8)" in diag.message and "(32, 32, 4)" in diag.message


def test_spatial_collapse_is_an_error_at_the_layer_line(tmp_path):
    path = net(tmp_path, """
        stages:
          s:
            body:
              - {op: conv2d, filters: 8, kernel_size: 3, strides: 2}
              - {op: conv2d, filters: 8, kernel_size: 16}
        """)
    with pytest.raises(SpecError) as info:
        archspec.expand(path)
    diag = info.value.diagnostics[0]
    assert diag.location.line == line_of(path, "kernel_size: 16")
    assert "collapses" in diag.message and "15" in diag.message


def test_unused_layer_is_reported(tmp_path):
    path = net(tmp_path, """
        stages:
          s:
            body:
              - {op: conv2d, filters: 8, kernel_size: 1, name: dangling}
              - {op: conv2d, in: input, filters: 8, kernel_size: 1}
        """)
    with pytest.raises(SpecError, match="'dangling' does not contribute"):
        archspec.expand(path)


def test_duplicate_layer_names_after_expansion(tmp_path):
    path = net(tmp_path, """
        templates:
          c: {body: [{op: conv2d, filters: 2, kernel_size: 1, name: same}]}
        stages:
          s: {block: c, repeat: 2}
        """)
    with pytest.raises(SpecError, match="duplicate layer name 'same'"):
        archspec.expand(path)


def test_overrides_apply_to_an_already_loaded_spec_without_changing_it():
    spec = archspec.load_spec("resnet50")
    graph = archspec.expand(spec, overrides={"stages.conv4.repeat": 23})
    assert sum(1 for d in graph.nodes.values() if d["weights"]) == 209
    assert spec.data["stages"]["conv4"]["repeat"] == 6
    assert sum(1 for d in archspec.expand(spec).nodes.values() if d["weights"]) == 107

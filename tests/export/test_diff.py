"""Structural diff by layer name."""

from __future__ import annotations

import re

from archspec.api import layer_graph
from archspec.export.diff import diff, format_text


def test_resnet50_to_resnet101_adds_exactly_conv4_blocks_7_to_23() -> None:
    a, b = layer_graph("resnet50"), layer_graph("resnet101")
    result = diff(a, b)
    expected = [d.name for d in b.layers
                if (m := re.match(r"conv4_block(\d+)_", d.name)) and int(m.group(1)) >= 7]
    assert len(expected) == 17 * 10
    assert result["added"] == expected
    assert result["removed"] == [] and result["changed"] == []
    assert result["rewired"] == [
        {"name": "conv5_block1_0_conv", "inputs": [["conv4_block6_out"], ["conv4_block23_out"]]},
        {"name": "conv5_block1_1_conv", "inputs": [["conv4_block6_out"], ["conv4_block23_out"]]},
    ]
    t = result["totals"]
    assert t["layers"]["delta"] == 170 and t["weighted_layers"]["delta"] == 102
    assert t["params"]["delta"] == 44_707_176 - 25_636_712
    w = result["weights"]
    assert len(w["by_name"]["loads"]) == 107 and w["by_name"]["blocked"] == []
    assert len(w["by_name"]["b_without_weights"]) == 102 and w["by_order"] is False
    text = format_text(result, a, b)
    assert "+ conv4_block7 (block, 10 layers: conv4_block7_1_conv .. conv4_block7_out)" in text
    assert "conv4_block6" not in text.split("rewired")[0]


def test_identical_specs_have_an_empty_diff() -> None:
    result = diff(layer_graph("resnet50"), layer_graph("resnet50"))
    assert (result["added"], result["removed"], result["changed"], result["rewired"]) == ([], [], [], [])
    assert result["weights"]["by_order"] is True and result["weights"]["by_name"]["blocked"] == []


def test_changed_attributes_shapes_and_blocked_weights() -> None:
    result = diff(layer_graph("resnet50"), layer_graph("resnet50", classes=10))
    assert result["changed"] == [{"name": "predictions", "changes": {
        "shape": [[1000], [10]], "attrs.units": [1000, 10], "weights": [[[2048, 1000], [1000]], [[2048, 10], [10]]]}}]
    blocked = result["weights"]["by_name"]["blocked"]
    assert [b["name"] for b in blocked] == ["predictions"]
    assert result["weights"]["by_order"] is False

"""Params and MACs from the graph alone: the ResNet paper's table, Keras's published counts, consistency."""

from __future__ import annotations

import pytest

from archspec.api import layer_graph
from archspec.export.summary import format_table, summarize
from archspec.lang.sources import bundled_names

# He et al. 2015, Table 1, "FLOPs" row (multiply-adds): conv and fc layers at 224x224.
PAPER_MACS = {"resnet18": 1.8e9, "resnet34": 3.6e9, "resnet50": 3.8e9, "resnet101": 7.6e9, "resnet152": 11.3e9}


@pytest.mark.parametrize("spec", sorted(PAPER_MACS))
def test_macs_match_the_resnet_paper(spec: str) -> None:
    """Fails (not skips) when a spec is missing: the table is part of what the zoo promises."""
    macs = summarize(layer_graph(spec))["macs"]
    assert macs == pytest.approx(PAPER_MACS[spec], rel=0.05), f"{spec}: {macs / 1e9:.3f} G vs paper"


def test_resnet50_counts_are_keras_published_numbers() -> None:
    s = summarize(layer_graph("resnet50"))
    assert (s["params"], s["trainable_params"], s["non_trainable_params"]) == (25_636_712, 25_583_592, 53_120)
    assert (s["layers"], s["weighted_layers"]) == (177, 107)
    assert [st["stage"] for st in s["stages"]] == ["input", "conv1", "conv2", "conv3", "conv4", "conv5", "head"]
    assert [st["output_shape"] for st in s["stages"]] == [
        [224, 224, 3], [56, 56, 64], [56, 56, 256], [28, 28, 512], [14, 14, 1024], [7, 7, 2048], [1000]]
    # conv1: 7x7x3x64 conv at 112x112
    assert s["stages"][1]["macs"] == 7 * 7 * 3 * 64 * 112 * 112


@pytest.mark.parametrize("spec", bundled_names())
def test_stage_rows_add_up_to_the_totals(spec: str) -> None:
    graph = layer_graph(spec)
    s = summarize(graph)
    for key in ("params", "trainable_params", "macs", "layers", "operations", "weighted_layers"):
        assert sum(st[key] for st in s["stages"]) == s[key]
    # Keras layers, and ops that are Keras operations (the layers inside a nested layer are neither)
    assert s["layers"] + s["operations"] == len(graph.top_level())
    assert s["params"] == sum(d.params for d in graph.layers)
    assert s["params"] >= s["trainable_params"] > 0
    table = format_table(s)
    lines = table.splitlines()
    total = next(k for k, line in enumerate(lines) if line.startswith("total"))
    assert f"{s['params']:,}" in lines[total] and lines[total + 1].startswith("params:")
    assert all(line.startswith(("output ", "feature ")) for line in lines[total + 3:])  # then outputs and taps


def test_options_change_the_head() -> None:
    top = summarize(layer_graph("resnet50"))
    pooled = summarize(layer_graph("resnet50", include_top=False, pooling="avg"))
    assert top["params"] - pooled["params"] == 2048 * 1000 + 1000
    assert pooled["output_shape"] == [2048]
    small = summarize(layer_graph("resnet50", input_shape=(112, 112, 3)))
    assert small["params"] == top["params"] and small["macs"] < top["macs"] / 3


def test_the_input_multiple_is_shown() -> None:
    """fpn_resnet34 inherits unet_resnet34's `input_multiple: 32`; a classifier declares none."""
    s = summarize(layer_graph("fpn_resnet34"))
    assert s["input_multiple"] == 32 and summarize(layer_graph("resnet34"))["input_multiple"] is None
    assert format_table(s).splitlines()[0].startswith("fpn_resnet34 (input 256x256x3, height and width multiples of 32)")

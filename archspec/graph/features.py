"""Feature taps: which layers of a backbone are its pyramid levels (``P1``..``P5``), from the graph alone.

A spec marks candidate values with ``tap: true`` (usually once, in the shared template of a family's block);
a candidate whose map the layers before it reduced by 2^k is a tap of level ``P{k}`` (keras-hub's name for a
pyramid level), and where several candidates share a level the last one made is the level: the output of
the last block at that stride, the layer timm's ``feature_info`` and keras-hub's ``pyramid_outputs`` name.
Levels are computed at the spec's own input size, so they are a property of the spec (a build with an open
input size finds the same layers by name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from archspec.graph.ir import Graph, Layer


@dataclass(frozen=True)
class Tap:
    """One pyramid level: its name (``P3``), the layer it taps, and timm-style ``reduction``/``channels``."""

    level: str
    layer: Layer
    reduction: int
    channels: int


def feature_taps(graph: Graph) -> dict[str, Tap]:
    """The graph's pyramid levels by name, shallowest first; ``{}`` when it marks no taps or its input
    height is open (levels are strides against a known size)."""
    levels = _levels(graph)
    found: dict[int, Layer] = {}
    for nid in graph.taps:
        if levels.get(nid) is not None:
            found[levels[nid]] = graph.layers[nid]  # the last candidate at a stride wins
    return {f"P{k}": Tap(f"P{k}", layer, 2 ** k, layer.shape[2]) for k, layer in sorted(found.items())}


def _levels(graph: Graph) -> dict[int, int | None]:
    """log2 of each feature map's reduction, summed along the first-input path: each layer halves its
    input's height (+1), keeps it (0) or doubles it (-1), rounded, so 'valid' windows that trim a few pixels
    (299 -> 149, 8 -> 3) still count as one stride. None where a size is open or the map became a vector."""
    out: dict[int, int | None] = {graph.input: 0}
    for layer in graph.layers:
        if layer.id == graph.input or not layer.inputs:
            continue
        source = graph.layers[layer.inputs[0]]
        before = out.get(source.id)
        if before is None or len(layer.shape) != 3 or not layer.shape[0] or not source.shape[0]:
            out[layer.id] = None
            continue
        out[layer.id] = before + round(math.log2(source.shape[0] / layer.shape[0]))
    return out

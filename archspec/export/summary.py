"""Per-stage parameter and MAC counts from the graph alone (no TensorFlow).

``params`` counts every weight the way Keras ``count_params()`` does (trainable + non-trainable, so
BatchNormalization's moving statistics are included); MACs are multiply-accumulates of convolutions
and dense layers (what the ResNet paper's "FLOPs" column counts).
"""

from __future__ import annotations

from typing import Any

from archspec.export.nodes import fmt_count, groups, shape_text
from archspec.graph.features import feature_taps
from archspec.graph.ir import Graph


def summarize(graph: Graph) -> dict[str, Any]:
    """Totals and one row per stage (the input is a stage of its own, the head is ``head``).

    ``layers`` counts what Keras lists in ``model.layers``; ``operations`` the ops emitted as Keras
    operations (``x + 3.0``), which are graph nodes but not layers.
    """
    layers = graph.layers
    stages = []
    for key, grp in groups(graph, "stage").items():
        stages.append({
            "stage": key,
            "output_shape": list(layers[grp.output].shape),
            "layers": grp.layers,
            "operations": grp.operations,
            "weighted_layers": grp.weighted,
            "params": grp.params,
            "trainable_params": grp.trainable,
            "macs": grp.macs,
        })
    params = sum(s["params"] for s in stages)
    trainable = sum(s["trainable_params"] for s in stages)
    return {
        "name": graph.name,
        "input_shape": list(graph.input_shape),
        "input_multiple": graph.input_multiple,  # the sizes it accepts are multiples of this (None: any)
        "output_shape": list(graph.output_layer.shape),
        "params": params,
        "trainable_params": trainable,
        "non_trainable_params": params - trainable,
        "macs": sum(s["macs"] for s in stages),
        "layers": sum(s["layers"] for s in stages),  # = len(model.layers) of the built model
        "operations": sum(s["operations"] for s in stages),  # graph nodes that are Keras operations, not layers
        "weighted_layers": sum(s["weighted_layers"] for s in stages),
        "stages": stages,
        "outputs": {name: {"layer": layer.name, "shape": list(layer.shape)}
                    for name, layer in graph.named_outputs().items()},
        # the pyramid levels build(features=...) returns, timm feature_info style
        "features": {level: {"layer": tap.layer.name, "shape": list(tap.layer.shape), "reduction": tap.reduction,
                             "channels": tap.channels} for level, tap in feature_taps(graph).items()},
    }


def format_table(summary: dict[str, Any]) -> str:
    """A fixed-width table, stages top to bottom, totals last."""
    rows = [("stage", "output", "layers", "weighted", "params", "MACs")]
    for s in summary["stages"]:
        rows.append((s["stage"], shape_text(s["output_shape"]), str(s["layers"]), str(s["weighted_layers"]),
                     f"{s['params']:,}", f"{s['macs']:,}"))
    rows.append(("total", shape_text(summary["output_shape"]), str(summary["layers"]),
                 str(summary["weighted_layers"]), f"{summary['params']:,}", f"{summary['macs']:,}"))
    widths = [max(len(r[k]) for r in rows) for k in range(6)]

    def line(r: tuple) -> str:
        return "  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths)))

    rule = "-" * len(line(rows[0]))
    sizes = f", height and width multiples of {summary['input_multiple']}" if summary.get("input_multiple") else ""
    out = [f"{summary['name']} (input {shape_text(summary['input_shape'])}{sizes})", line(rows[0]), rule,
           *map(line, rows[1:-1]), rule, line(rows[-1]),
           f"params: {summary['params']:,} ({fmt_count(summary['params'])}; trainable {summary['trainable_params']:,}, "
           f"non-trainable {summary['non_trainable_params']:,})",
           f"MACs: {summary['macs']:,} ({fmt_count(summary['macs'])})"]
    out += [f"output {name}: {shape_text(o['shape'])} ({o['layer']})" for name, o in summary.get("outputs", {}).items()]
    out += [f"feature {level}: {shape_text(f['shape'])} ({f['layer']}, reduction {f['reduction']})"
            for level, f in summary.get("features", {}).items()]
    if summary.get("operations"):
        out[0] += f"; plus {summary['operations']} Keras operations that are not layers, not counted in 'layers'"
    return "\n".join(out)

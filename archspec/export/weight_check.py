"""``check-weights``: would this HDF5 file load into the spec's model, by order or by name?

Uses the same h5py reader, matcher and decision as ``build --weights`` (:func:`archspec.weights.match.decide`),
and reads the weights a load would read, so the verdict is the one a real load would reach, without TensorFlow.
"""

from __future__ import annotations

from typing import Any

from archspec.export.nodes import outputs_text
from archspec.graph.ir import Graph
from archspec.weights.match import WeightCheck, adapted_text, shapes_text


LAYOUTS = {"weights": "legacy weights file", "model": "full-model file (model_weights)",
           "keras3": "Keras 3 weights file"}


def to_json(result: WeightCheck, graph: Graph) -> dict[str, Any]:
    layers = graph.layers
    return {
        "file": result.wfile.path,
        "layout": result.wfile.layout,
        "file_weighted_layers": len(result.wfile.weighted),
        "loads": result.loads,
        "reports": [{
            "mode": r.mode,
            "complete": r.complete,
            "loads": d.loads,
            "kept": [layers[n].name for n in d.kept],
            "unused": list(d.unused),
            "matched": [{"layer": layers[n].name, "file_layer": f} for n, f in r.matched],
            "missing": [{"layer": layers[n].name, "loc": str(layers[n].loc)} for n in r.missing],
            "extra": list(r.extra),
            "shape_mismatches": [{"layer": m.layer, "file_layer": m.file_layer, "expected": [list(s) for s in m.expected],
                                  "found": [list(s) for s in m.found], "loc": str(m.loc)} for m in r.mismatched],
            "count_error": r.count_error,
            "adapted": adapted_text(r, graph),
            "diagnostics": [p.format() for p in d.problems],
        } for d in result.decisions for r in (d.report,)],
    }


def more_line(groups: tuple[list, ...], limit: int) -> list[str]:
    """The line that says how many entries the text left out (each group is listed up to ``limit``)."""
    hidden = sum(max(0, len(group) - limit) for group in groups)
    return [f"  ... {hidden} more (use --format json for all)"] if hidden else []


def format_text(result: WeightCheck, graph: Graph, limit: int = 10) -> str:
    """One block per mode tried: counts, then each problem with the spec line that made the layer."""
    layers = graph.layers
    wfile = result.wfile
    layout = LAYOUTS[wfile.layout]
    ours = len(graph.weighted())
    out = [f"{wfile.path}: {layout}, {len(wfile.layers)} layers, {len(wfile.weighted)} with weights; "
           f"{graph.name} has {ours} layers with weights{outputs_text(graph)}"]
    for r in result.reports:
        out.append(f"by {r.mode}: {len(r.matched)} matched, {len(r.missing)} missing, {len(r.extra)} extra, "
                   f"{len(r.mismatched)} shape mismatch(es)")
        if r.count_error:
            out.append(f"  {r.count_error}")
        out += [f"  adapted: {text}" for text in adapted_text(r, graph)]
        for m in r.mismatched[:limit]:
            out.append(f"  {m.loc}: shape mismatch: layer '{m.layer}' expects {shapes_text(m.expected)}, "
                       f"file layer '{m.file_layer}' has {shapes_text(m.found)}")
        for n in r.missing[:limit]:
            out.append(f"  {layers[n].loc}: missing: layer '{layers[n].name}' has no weights in the file")
        for name in r.extra[:limit]:
            out.append(f"  extra: file layer '{name}' matches no layer of the model")
        out += more_line((r.mismatched, r.missing, r.extra), limit)
    loading = next((d for d in result.decisions if d.loads), None)
    tried_order = result.decisions[0].report.mode == "order"  # auto mode: order failed, name loads
    advice = " (use --by-name when building)" if result.loads == "name" and tried_order else ""
    if loading is None:
        out += list(dict.fromkeys(p.format() for d in result.decisions for p in d.problems))  # a mode each
        out.append("FAIL: the file does not load fully")
    elif loading.report.complete:
        out.append(f"OK: the file loads fully by {result.loads}{advice}")
    else:
        out.append(f"PARTIAL: loads by {result.loads}{advice}; {'; '.join(loading.left_out(graph))}")
    return "\n".join(out)

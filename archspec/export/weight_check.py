"""``check-weights``: would this HDF5 file load fully into the spec's model, by order or by name?

Uses the same h5py reader and matcher as ``build --weights`` (``archspec/weights``), so the verdict
is the one a real load would reach, without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from archspec.weights.h5file import WeightFile, read_weight_file
from archspec.weights.match import MatchReport, diagnostics, match

MODES = ("auto", "order", "name")


@dataclass
class WeightCheck:
    wfile: WeightFile
    reports: list[MatchReport]  # in the order tried

    @property
    def loads(self) -> str | None:
        """The first mode in which every weighted layer pairs with matching shapes, else None."""
        return next((r.mode for r in self.reports if r.complete), None)


def check_weights(graph: nx.DiGraph, path: str | Path, mode: str = "auto") -> WeightCheck:
    """Match by order (what keras.applications does) and, in ``auto`` mode if that fails, by name."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    wfile = read_weight_file(path)
    reports = []
    for by_name in ((False, True) if mode == "auto" else (mode == "name",)):
        reports.append(match(graph, wfile, by_name=by_name))
        if reports[-1].complete:
            break
    return WeightCheck(wfile, reports)


def to_json(result: WeightCheck, graph: nx.DiGraph) -> dict[str, Any]:
    nodes = graph.nodes
    return {
        "file": result.wfile.path,
        "layout": result.wfile.layout,
        "file_weighted_layers": len(result.wfile.weighted),
        "loads": result.loads,
        "reports": [{
            "mode": r.mode,
            "complete": r.complete,
            "matched": [{"layer": nodes[n]["name"], "file_layer": f} for n, f in r.matched],
            "missing": [{"layer": nodes[n]["name"], "loc": str(nodes[n]["loc"])} for n in r.missing],
            "extra": list(r.extra),
            "shape_mismatches": [{"layer": m.layer, "file_layer": m.file_layer, "expected": [list(s) for s in m.expected],
                                  "found": [list(s) for s in m.found], "loc": str(m.loc)} for m in r.mismatched],
            "count_error": r.count_error,
            "diagnostics": [d.format() for d in diagnostics(r, graph, result.wfile)],
        } for r in result.reports],
    }


def format_text(result: WeightCheck, graph: nx.DiGraph, limit: int = 10) -> str:
    """One block per mode tried: counts, then each problem with the spec line that made the layer."""
    nodes = graph.nodes
    wfile = result.wfile
    layout = "legacy weights file" if wfile.layout == "weights" else "full-model file (model_weights)"
    ours = sum(1 for n in nodes.values() if n["weights"])
    out = [f"{wfile.path}: {layout}, {len(wfile.layers)} layers, {len(wfile.weighted)} with weights; "
           f"{graph.graph.get('name')} has {ours} layers with weights"]
    for r in result.reports:
        out.append(f"by {r.mode}: {len(r.matched)} matched, {len(r.missing)} missing, {len(r.extra)} extra, "
                   f"{len(r.mismatched)} shape mismatch(es)")
        if r.count_error:
            out.append(f"  {r.count_error}")
        for m in r.mismatched[:limit]:
            out.append(f"  {m.loc}: shape mismatch: layer '{m.layer}' expects {_shapes(m.expected)}, "
                       f"file layer '{m.file_layer}' has {_shapes(m.found)}")
        for n in r.missing[:limit]:
            out.append(f"  {nodes[n]['loc']}: missing: layer '{nodes[n]['name']}' has no weights in the file")
        for name in r.extra[:limit]:
            out.append(f"  extra: file layer '{name}' matches no layer of the model")
        hidden = sum(max(0, len(x) - limit) for x in (r.mismatched, r.missing, r.extra))
        if hidden:
            out.append(f"  ... {hidden} more (use --format json for all)")
    if result.loads:
        out.append(f"OK: the file loads fully by {result.loads}"
                   + (" (use --by-name when building)" if result.loads == "name" else ""))
    else:
        out.append("FAIL: the file does not load fully")
    return "\n".join(out)


def _shapes(shapes: list[tuple]) -> str:
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"

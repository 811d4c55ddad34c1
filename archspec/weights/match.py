"""Compare a weight file with the weight manifest of an expanded graph, by order or by name.

The manifest is what the graph says each weighted layer stores; it mirrors how Keras's legacy HDF5
loader pairs layers: by order it pairs the i-th weighted layer of the model with the i-th weighted layer
of the file; by name it pairs equal names and ignores the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archspec.errors import Diagnostic, Location
from archspec.weights.h5file import FileLayer, WeightFile


@dataclass
class Mismatch:
    node: int
    layer: str
    file_layer: str
    expected: list[tuple]
    found: list[tuple]
    loc: Location


@dataclass
class MatchReport:
    mode: str  # "order" | "name"
    matched: list[tuple[int, str]] = field(default_factory=list)  # (node, file layer name)
    missing: list[int] = field(default_factory=list)  # model layers with weights the file lacks
    extra: list[str] = field(default_factory=list)  # file layers nothing in the model takes
    mismatched: list[Mismatch] = field(default_factory=list)
    count_error: str | None = None

    @property
    def complete(self) -> bool:
        return not (self.missing or self.extra or self.mismatched or self.count_error)


def weighted_nodes(graph: Any) -> list[int]:
    """Weighted layers in Keras ``model.layers`` order (see :func:`archspec.graph.order.keras_layer_order`)."""
    from archspec.graph.order import keras_layer_order

    return [n for n in keras_layer_order(graph) if graph.nodes[n]["weights"]]


def _shapes(node: dict) -> list[tuple]:
    return [w.shape for w in node["weights"]]


def _found(layer: FileLayer) -> list[tuple]:
    return [shape for _, shape in layer.weights]


def match(graph: Any, wfile: WeightFile, by_name: bool = False) -> MatchReport:
    """Pair model and file layers the way Keras will, and record every difference."""
    nodes = graph.nodes
    ours = weighted_nodes(graph)
    theirs = wfile.weighted
    report = MatchReport("name" if by_name else "order")
    if by_name:
        index = {layer.name: layer for layer in theirs}
        taken = set()
        for nid in ours:
            layer = index.get(nodes[nid]["name"])
            if layer is None:
                report.missing.append(nid)
                continue
            taken.add(layer.name)
            _pair(report, nodes, nid, layer)
        report.extra = [layer.name for layer in theirs if layer.name not in taken]
        return report
    if len(ours) != len(theirs):
        report.count_error = (f"the file has {len(theirs)} layers with weights, the model has {len(ours)}")
    for nid, layer in zip(ours, theirs):
        _pair(report, nodes, nid, layer)
    report.missing = ours[len(theirs):]
    report.extra = [layer.name for layer in theirs[len(ours):]]
    return report


def _pair(report: MatchReport, nodes: Any, nid: int, layer: FileLayer) -> None:
    node = nodes[nid]
    if _shapes(node) == _found(layer):
        report.matched.append((nid, layer.name))
    else:
        report.mismatched.append(Mismatch(nid, node["name"], layer.name, _shapes(node), _found(layer), node["loc"]))


def diagnostics(report: MatchReport, graph: Any, wfile: WeightFile, allow_partial: bool = False) -> list[Diagnostic]:
    """Errors that stop a load: the first shape mismatch (with the spec line), counts, unmatched layers."""
    out: list[Diagnostic] = []
    where = Location(wfile.path)
    if report.mismatched:
        m = report.mismatched[0]
        more = f" ({len(report.mismatched) - 1} more)" if len(report.mismatched) > 1 else ""
        node = graph.nodes[m.node]
        made_by = f"made in block '{node['block']}' of stage '{node['stage']}'; " if node.get("block") else ""
        out.append(Diagnostic(
            f"layer '{m.layer}' expects weights {_fmt(m.expected)} but file layer '{m.file_layer}' has "
            f"{_fmt(m.found)}{more}", m.loc, hint=f"{made_by}weight file {wfile.path}"))
    if report.count_error:
        out.append(Diagnostic(report.count_error + "; loading by order needs equal counts", where,
                              hint="try --by-name" if report.mode == "order" else None))
    elif report.mode == "name" and not allow_partial and (report.missing or report.extra):
        names = [graph.nodes[n]["name"] for n in report.missing]
        if names:
            out.append(Diagnostic(f"{len(names)} model layer(s) with weights not in the file: "
                                  f"{_list(names)}", where, hint="--allow-partial loads the rest"))
        if report.extra:
            out.append(Diagnostic(f"{len(report.extra)} file layer(s) match no model layer: {_list(report.extra)}",
                                  where, hint="--allow-partial loads the rest"))
    return out


def _fmt(shapes: list[tuple]) -> str:
    return "[" + ", ".join("(" + ", ".join(map(str, s)) + ")" for s in shapes) + "]"


def _list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")

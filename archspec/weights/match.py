"""Compare a weight file with the weight manifest of an expanded graph, by order or by name.

The manifest is what the graph says each weighted layer stores; it mirrors how Keras's legacy HDF5
loader pairs layers: by order it pairs the i-th weighted layer of the model with the i-th weighted layer
of the file; by name it pairs equal names and ignores the rest. A Keras 3 ``.weights.h5`` file is paired
"by order" as Keras 3 loads it, by the layer paths ``model.save_weights`` writes (:func:`keras3_keys`; a
nested layer's members by their paths inside it, :func:`member_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from archspec.errors import Diagnostic, Location
from archspec.graph.ir import Graph, Layer
from archspec.graph.order import keras_layer_order
from archspec.ops import fmt_shape
from archspec.weights.h5file import FileLayer, WeightFile, read_weight_file


@dataclass
class LayerMismatch:
    """A weight-file layer paired with a layer whose weights have other shapes."""

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
    mismatched: list[LayerMismatch] = field(default_factory=list)
    count_error: str | None = None
    # for each matched node, the HDF5 paths of its weights in the order of Graph.stored_weights
    datasets: dict[int, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.extra or self.mismatched or self.count_error)


def weighted_nodes(graph: Graph) -> list[int]:
    """Weighted layers in Keras ``model.layers`` order (see :func:`archspec.graph.order.keras_layer_order`)."""
    return [n for n in keras_layer_order(graph) if graph.stored_weights(graph.layers[n])]


def _shapes(graph: Graph, layer: Layer) -> list[tuple]:
    return [w.shape for w in graph.stored_weights(layer)]


def _found(layer: FileLayer) -> list[tuple]:
    return [shape for _, shape in layer.weights]


def match(graph: Graph, wfile: WeightFile, by_name: bool = False) -> MatchReport:
    """Pair the graph's weighted layers with the file's, as Keras's legacy loader would."""
    layers = graph.layers
    ours = weighted_nodes(graph)
    theirs = wfile.weighted
    report = MatchReport("name" if by_name else "order")
    if wfile.layout == "keras3" and not by_name:
        return _match_keras3(graph, wfile, report)
    if by_name:
        index = {layer.name: layer for layer in theirs}
        taken = set()
        for nid in ours:
            found = index.get(layers[nid].name)
            if found is None:
                report.missing.append(nid)
                continue
            taken.add(found.name)
            _pair(report, graph, layers[nid], found)
        report.extra = [layer.name for layer in theirs if layer.name not in taken] + report.extra
        return report
    if len(ours) != len(theirs):
        report.count_error = (f"the file has {len(theirs)} layers with weights, the model has {len(ours)}")
    for nid, found in zip(ours, theirs):
        _pair(report, graph, layers[nid], found)
    report.missing = ours[len(theirs):]
    report.extra = [layer.name for layer in theirs[len(ours):]]
    return report


def _class_keys(graph: Graph, nodes: list[int] | tuple[int, ...]) -> dict[int, str]:
    """Keras 3's path of each layer of a list: its class in snake_case, numbered per class in list order
    (``conv2d``, ``conv2d_1``, ...), as ``_save_container_state`` in ``keras/src/saving/saving_lib.py``
    names the entries of a model's ``layers``."""
    used: dict[str, int] = {}
    keys = {}
    for nid in nodes:
        base = graph.layers[nid].auto_prefix
        n = used.get(base, 0)
        keys[nid] = base if n == 0 else f"{base}_{n}"
        used[base] = n + 1
    return keys


def keras3_keys(graph: Graph) -> dict[int, str]:
    """Each layer's path under ``layers`` in a Keras 3 ``.weights.h5`` file, numbered in ``model.layers``
    order, as ``model.save_weights`` names them. A nested layer's members are numbered afresh under its
    own ``<key>/layers`` group (a Sequential's ``layers``): see :func:`member_keys`."""
    return _class_keys(graph, keras_layer_order(graph))


def member_keys(graph: Graph, layer: Layer) -> dict[int, str]:
    """The paths of a nested layer's members under its ``layers`` group in a Keras 3 file."""
    return _class_keys(graph, layer.members)


def _match_keras3(graph: Graph, wfile: WeightFile, report: MatchReport) -> MatchReport:
    """Pair layers as Keras 3's ``load_weights`` does: by class and position (the file's layer paths)."""
    keys = keras3_keys(graph)
    index = {layer.key: layer for layer in wfile.weighted}
    taken = set()
    for nid in weighted_nodes(graph):
        found = index.get(keys[nid])
        if found is None:
            report.missing.append(nid)
            continue
        taken.add(found.key)
        _pair(report, graph, graph.layers[nid], found)
    report.extra = [layer.name for layer in wfile.weighted if layer.key not in taken] + report.extra
    return report


def _pair(report: MatchReport, graph: Graph, layer: Layer, found: FileLayer) -> None:
    if layer.members and found.members:
        _pair_members(report, graph, layer, found)
        return
    shapes = _shapes(graph, layer)
    if shapes == _found(found):
        report.matched.append((layer.id, found.name))
        report.datasets[layer.id] = list(found.datasets)
    else:
        report.mismatched.append(LayerMismatch(layer.id, layer.name, found.name, shapes, _found(found), layer.loc))


def _pair_members(report: MatchReport, graph: Graph, layer: Layer, found: FileLayer) -> None:
    """A nested layer against the nested model of a Keras 3 file, member by member (by their paths in it,
    or by name when matching by name); a problem is reported at the member's own spec line. When every
    member pairs, the nested layer is matched, its weights in stored order (trainable ones first)."""
    by_name = report.mode == "name"
    ours = {m: graph.layers[m].name for m in layer.members} if by_name else member_keys(graph, layer)
    theirs = {(m.name if by_name else m.key): m for m in found.members}
    pairs, problems = [], len(report.missing) + len(report.mismatched)
    for mid in layer.members:
        member, stored = graph.layers[mid], theirs.pop(ours[mid], None)
        if stored is None:
            if member.weights:
                report.missing.append(mid)
            continue
        shapes = [w.shape for w in member.weights]
        if shapes != _found(stored):
            report.mismatched.append(LayerMismatch(mid, member.name, f"{found.name}/{stored.name}", shapes,
                                              _found(stored), member.loc))
        pairs.append((member, stored))
    extra = [f"{found.name}/{m.name}" for m in theirs.values() if m.weights]
    report.extra += extra
    if len(report.missing) + len(report.mismatched) == problems and not extra:
        report.matched.append((layer.id, found.name))
        paths = {member.id: stored.datasets for member, stored in pairs}
        report.datasets[layer.id] = [paths[m][i] for m, i in graph.stored_order(layer)]


@dataclass
class WeightCheck:
    """A weight file and its match against a graph in each mode tried."""

    wfile: WeightFile
    reports: list[MatchReport]  # in the order tried

    @property
    def loads(self) -> str | None:
        """The first mode in which every weighted layer pairs with matching shapes, else None."""
        return next((r.mode for r in self.reports if r.complete), None)


MODES = ("auto", "order", "name")


def check_weights(graph: Graph, path: str | Path, mode: str = "auto") -> WeightCheck:
    """Match by order (what keras.applications does), by name, or in ``auto`` mode by order then by name."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    wfile = read_weight_file(path)
    reports = []
    for by_name in ((False, True) if mode == "auto" else (mode == "name",)):
        reports.append(match(graph, wfile, by_name=by_name))
        if reports[-1].complete:
            break
    return WeightCheck(wfile, reports)


def diagnostics(report: MatchReport, graph: Graph, wfile: WeightFile, allow_partial: bool = False) -> list[Diagnostic]:
    """Errors that stop a load: the first shape mismatch (with the spec line), counts, unmatched layers."""
    out: list[Diagnostic] = []
    where = Location(wfile.path)
    if report.mismatched:
        m = report.mismatched[0]
        more = f" ({len(report.mismatched) - 1} more)" if len(report.mismatched) > 1 else ""
        layer = graph.layers[m.node]
        made_by = f"made in block '{layer.block}' of stage '{layer.stage}'; " if layer.block else ""
        out.append(Diagnostic(
            f"layer '{m.layer}' expects weights {shapes_text(m.expected)} but file layer '{m.file_layer}' has "
            f"{shapes_text(m.found)}{more}", m.loc, hint=f"{made_by}weight file {wfile.path}"))
    if report.count_error:
        out.append(Diagnostic(report.count_error + "; loading by order needs equal counts", where,
                              hint="try --by-name" if report.mode == "order" else None))
    elif (report.mode == "name" or wfile.layout == "keras3") and not allow_partial and (report.missing or report.extra):
        names = [graph.layers[n].name for n in report.missing]
        if names:
            out.append(Diagnostic(f"{len(names)} model layer(s) with weights not in the file: "
                                  f"{_list(names)}", where, hint="--allow-partial loads the rest"))
        if report.extra:
            out.append(Diagnostic(f"{len(report.extra)} file layer(s) match no model layer: {_list(report.extra)}",
                                  where, hint="--allow-partial loads the rest"))
    return out


def shapes_text(shapes: list[tuple]) -> str:
    """A layer's weight shapes: ``[(3, 3, 64, 64), (64,)]``."""
    return "[" + ", ".join(fmt_shape(tuple(s)) for s in shapes) + "]"


def _list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")

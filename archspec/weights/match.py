"""Compare a weight file with the weight manifest of an expanded graph, by order or by name.

The manifest is what the graph says each weighted layer stores; it mirrors how Keras's legacy HDF5
loader pairs layers: by order it pairs the i-th weighted layer of the model with the i-th weighted layer
of the file; by name it pairs equal names and ignores the rest. A Keras 3 ``.weights.h5`` file is paired
"by order" as Keras 3 loads it, by the layer paths ``model.save_weights`` writes (:func:`keras3_keys`; a
nested layer's members by their paths inside it, :func:`member_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from archspec.errors import Diagnostic, Location
from archspec.graph.ir import Graph, Layer
from archspec.graph.order import keras_layer_order
from archspec.ops import fmt_shape
from archspec.weights.channels import Adaptation, adaptation, hint, input_readers
from archspec.weights.h5file import FileLayer, WeightFile, check_arrays, read_weight_file


@dataclass
class LayerMismatch:
    """A weight-file layer paired with a layer whose weights have other shapes."""

    node: int
    layer: str
    file_layer: str
    expected: list[tuple]
    found: list[tuple]
    loc: Location
    hint: str | None = None  # the input-channel option that would adapt it, or why it did not


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
    # matched readers of the network input whose kernel is adapted to its channels (--adapt-input-channels)
    adapted: dict[int, Adaptation] = field(default_factory=dict)
    readers: dict[int, int] = field(default_factory=dict)  # the graph's input readers (weights/channels.py)
    adapt: bool = False  # whether the load adapts them

    @property
    def complete(self) -> bool:
        return not (self.missing or self.extra or self.mismatched or self.count_error)

    def paired_datasets(self) -> list[str]:
        """The HDF5 paths a load reads: every matched layer's weights."""
        return [path for nid, _ in self.matched for path in self.datasets[nid]]


def weighted_nodes(graph: Graph) -> list[int]:
    """Weighted layers in Keras ``model.layers`` order (see :func:`archspec.graph.order.keras_layer_order`)."""
    return [n for n in keras_layer_order(graph) if graph.stored_weights(graph.layers[n])]


def _shapes(graph: Graph, layer: Layer) -> list[tuple]:
    return [w.shape for w in graph.stored_weights(layer)]


def _found(layer: FileLayer) -> list[tuple]:
    return [shape for _, shape in layer.weights]


def match(graph: Graph, wfile: WeightFile, by_name: bool = False, adapt_channels: bool = False) -> MatchReport:
    """Pair the graph's weighted layers with the file's, as Keras's legacy loader would; with ``adapt_channels``
    a reader of the network input whose kernel is for another channel count pairs, adapted (weights/channels.py)."""
    layers = graph.layers
    ours = weighted_nodes(graph)
    theirs = wfile.weighted
    report = MatchReport("name" if by_name else "order", readers=input_readers(graph), adapt=adapt_channels)
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
    result = None
    if shapes != _found(found) and layer.id in report.readers:
        result = adaptation(graph, layer, report.readers[layer.id], _found(found), lambda w: w.shape)
    if shapes == _found(found) or (report.adapt and isinstance(result, Adaptation)):
        report.matched.append((layer.id, found.name))
        report.datasets[layer.id] = list(found.datasets)
        if result is not None:
            report.adapted[layer.id] = result
    else:
        report.mismatched.append(LayerMismatch(layer.id, layer.name, found.name, shapes, _found(found), layer.loc,
                                               result and hint(result, report.adapt)))


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
    """A weight file and what loading it would do in each mode tried."""

    wfile: WeightFile
    decisions: list[Decision]  # in the order tried

    @property
    def reports(self) -> list[MatchReport]:
        return [d.report for d in self.decisions]

    @property
    def loads(self) -> str | None:
        """The first mode in which ``build`` would load the file, else None."""
        return next((d.report.mode for d in self.decisions if d.loads), None)


MODES = ("auto", "order", "name")


@dataclass
class Decision:
    """What a load of a weight file into a graph does, for ``build`` and ``check-weights`` alike: refused
    (``problems``), or loads the matched layers and leaves ``kept`` at their initial weights (a new classifier;
    with ``allow_partial``, layers the file lacks) and ``unused`` file layers aside."""

    report: MatchReport
    problems: list[Diagnostic]
    kept: list[int] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    @property
    def loads(self) -> bool:
        return not self.problems

    def warning(self, graph: Graph, path: str) -> str | None:
        """The ``SkippedWeightsWarning`` text of a load that adapts or leaves something out, else None."""
        parts = adapted_text(self.report, graph) + self.left_out(graph)
        if self.problems or not parts:
            return None
        return "; ".join([f"{path}: loaded {len(self.report.matched)} layers with weights", *parts])

    def left_out(self, graph: Graph) -> list[str]:
        """What the load leaves at initial weights, and the file layers it does not use."""
        parts = []
        if self.kept:
            parts.append(f"{len(self.kept)} layer(s) keep their initial weights (shapes differ from the file's: new "
                         f"classes or input size; or not in the file): {_list([graph.layers[n].name for n in self.kept])}")
        if self.unused:
            parts.append(f"file layer(s) not used: {_list(list(dict.fromkeys(self.unused)))}")
        return parts


def adapted_text(report: MatchReport, graph: Graph) -> list[str]:
    """One line per kernel adapted to the input channels."""
    return [a.text(graph.layers[n].name, f"the file's {w.name} {fmt_shape(a.stored(w.shape))}")
            for n, a in report.adapted.items() for w in (graph.layers[n].weights[a.weight],)]


def decide(graph: Graph, wfile: WeightFile, by_name: bool = False, allow_partial: bool = False,
           adapt_channels: bool = False) -> Decision:
    """The one rule for both: a shape mismatch in the head is a new classifier, whose layers keep their initial
    weights (by order and by name alike); by order, a file that differs only in the head (a top file for a
    model without its top) loads too. Anything else that disagrees is a problem, except what the file lacks or
    has in excess with ``allow_partial`` (by name, or a Keras 3 file), and with ``adapt_channels`` a kernel
    for another input-channel count (weights/channels.py)."""
    report = match(graph, wfile, by_name=by_name, adapt_channels=adapt_channels)
    if report.complete:
        return Decision(report, [])
    head = [m for m in report.mismatched if graph.layers[m.node].stage == "head"]
    skipped = [m.file_layer for m in head]
    if not by_name and not report.missing and len(head) == len(report.mismatched):
        return Decision(report, [], [m.node for m in head], list(report.extra) + skipped)
    rest = replace(report, mismatched=[m for m in report.mismatched if m not in head])
    problems = diagnostics(rest, graph, wfile, allow_partial)
    if problems:
        return Decision(report, problems)
    return Decision(report, [], [m.node for m in head] + list(report.missing), skipped + list(report.extra))


def check_weights(graph: Graph, path: str | Path, mode: str = "auto", allow_partial: bool = False,
                  adapt_channels: bool = False) -> WeightCheck:
    """Decide by order (what keras.applications does), by name, or in ``auto`` mode by order then by name,
    as ``build`` would with the same options; then read the weights of the load (a chunk that does not
    decompress fails here as in ``build``)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    wfile = read_weight_file(path)
    decisions = []
    for by_name in ((False, True) if mode == "auto" else (mode == "name",)):
        decisions.append(decide(graph, wfile, by_name=by_name, allow_partial=allow_partial,
                                adapt_channels=adapt_channels))
        if decisions[-1].loads:
            check_arrays(wfile.path, decisions[-1].report.paired_datasets())
            break
    return WeightCheck(wfile, decisions)


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
            f"{shapes_text(m.found)}{more}", m.loc, hint=f"{made_by}weight file {wfile.path}"
                                                        + (f"; {m.hint}" if m.hint else "")))
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

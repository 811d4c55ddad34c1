"""Graphviz DOT of an expanded graph at layer, block or stage level, written as text (no pydot: every
command works on a base install).

Ids come from :func:`archspec.export.nodes.safe_id` (stable per layer name, legal without quoting);
every label and attribute value that is not a plain word or number is quoted by :func:`_quoted`. Rendering (svg/png) shells out to Graphviz's
``dot`` and fails with an install hint when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

from archspec.errors import Diagnostic, SpecError
from archspec.limits import DEFAULT_LIMITS
from archspec.export.nodes import fmt_count, groups, safe_id, shape_text
from archspec.graph.ir import Graph, Layer

LEVELS = ("layer", "block", "stage")

_INPUT_FILL = "#ffe599"
_GROUP_FILL = "#cfe2f3"
_NESTED_COLOR = "#6d9eeb"


def _fill(layer: Layer) -> str:
    return _INPUT_FILL if layer.is_input else layer.opdef.fill


def _label(*lines: str) -> str:
    """Join label lines with DOT's ``\\n``; backslashes in names are doubled so DOT shows them as written."""
    return "\\n".join(line.replace("\\", "\\\\") for line in lines if line)


def to_dot(graph: Graph, level: str = "layer", rankdir: str = "TB") -> Any:
    """A DOT graph (``.to_string()`` is its text): one node per layer (or per block/stage), clusters for stages and blocks. An op that is
    a Keras operation rather than a layer (``OpDef.layer`` false) is a node too, drawn as an ellipse; a nested
    layer (``sequential:``) is a solid cluster around its members, named as in ``model.layers``."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    dot = _Graph(safe_id(str(graph.name or "network"), "g_"), graph_type="digraph")
    dot.set_graph_defaults(rankdir=rankdir, fontname="Helvetica", fontsize="11", nodesep="0.15",
                           ranksep="0.25", label=_label(_title(graph)), labelloc="t")
    dot.set_node_defaults(shape="box", style="rounded,filled", fontname="Helvetica", fontsize="9",
                          height="0.3", margin="0.06,0.03")
    dot.set_edge_defaults(fontname="Helvetica", fontsize="8", arrowsize="0.6")
    if level == "layer":
        _layers(dot, graph)
        _outputs(dot, graph, {layer.id: safe_id(layer.name) for layer in graph.layers})
    else:
        member = _groups(dot, graph, level)
        prefix = "s_" if level == "stage" else "b_"
        _outputs(dot, graph, {nid: safe_id(key, prefix) for nid, key in member.items()})
    return dot


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+(\.[0-9]+)?")
_KEYWORDS = frozenset(("node", "edge", "graph", "digraph", "subgraph", "strict"))


def _quoted(value: str) -> str:
    """A DOT attribute value: plain words and numbers as they are, anything else in double quotes with
    quotes and line breaks escaped (backslashes are left alone: ``\\n`` in a label is DOT's line break)."""
    if _PLAIN.fullmatch(value) and value.lower() not in _KEYWORDS:
        return value
    return '"' + value.replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _attrs(attrs: dict[str, str]) -> str:
    return ", ".join(f"{k}={_quoted(v)}" for k, v in attrs.items())


class _Node:
    def __init__(self, name: str, **attrs: str) -> None:
        self.name, self.attrs = name, attrs

    def to_string(self) -> str:
        return f"{self.name} [{_attrs(self.attrs)}];" if self.attrs else f"{self.name};"


class _Edge(_Node):
    def __init__(self, source: str, target: str, **attrs: str) -> None:
        super().__init__(f"{source} -> {target}", **attrs)


class _Graph:
    """A digraph (``graph_type``) or a subgraph: its attributes, defaults, then nodes, subgraphs and edges in
    the order they were added. Names are :func:`safe_id`s, so they are never quoted."""

    def __init__(self, name: str, graph_type: str = "subgraph", **attrs: str) -> None:
        self.name, self.graph_type, self.attrs = name, graph_type, attrs
        self.defaults: dict[str, dict[str, str]] = {}
        self.body: list[Any] = []

    def set_graph_defaults(self, **attrs: str) -> None:
        self.defaults["graph"] = attrs

    def set_node_defaults(self, **attrs: str) -> None:
        self.defaults["node"] = attrs

    def set_edge_defaults(self, **attrs: str) -> None:
        self.defaults["edge"] = attrs

    def add(self, item: Any) -> None:
        self.body.append(item)

    add_node = add_edge = add_subgraph = add

    def to_string(self) -> str:
        lines = [f"{self.graph_type} {self.name} {{"]
        lines += [f"{k}={_quoted(v)};" for k, v in self.attrs.items()]
        lines += [f"{kind} [{_attrs(attrs)}];" for kind, attrs in self.defaults.items()]
        lines += [item.to_string() for item in self.body]
        return "\n".join(lines) + "\n}" + ("\n" if self.graph_type == "digraph" else "")


def _outputs(dot: Any, graph: Graph, node_of: dict[int, str]) -> None:
    """A named output (``output: NAME``) is a small node of its own, fed by the layer (or group) it returns."""
    for name, layer in graph.named_outputs().items():
        node = safe_id(name, "out_")
        dot.add_node(_Node(node, label=_label(f"output {name}", shape_text(layer.shape)), shape="cds",
                                style="filled", fillcolor=_INPUT_FILL))
        source = layer.members[-1] if layer.is_nested else layer.id  # a nested layer is drawn as its members
        dot.add_edge(_Edge(node_of[source], node))


def _title(graph: Graph) -> str:
    top = graph.top_level()  # as in model.layers: a nested layer counts once, not its members
    ops = sum(not n.is_layer for n in top)
    return (f"{graph.name}: {_count(len(top) - ops, ops)}, {fmt_count(sum(n.params for n in graph))} params, "
            f"{fmt_count(sum(n.macs for n in graph))} MACs, input {shape_text(graph.input_shape)}")


def _count(layers: int, operations: int) -> str:
    """``12 layers`` or ``12 layers + 2 ops`` (Keras operations that are not layers)."""
    return f"{layers} layers" + (f" + {operations} op{'s' if operations > 1 else ''}" if operations else "")


def _clusters(dot: Any, graph: Graph, nested: bool) -> dict[str, Any]:
    """Stage clusters, and inside them block clusters when a stage has more than one block (``nested``).

    Returns the container (graph or subgraph) for each block name; the input stays outside.
    """
    blocks_of: dict[str, list[str]] = {}
    for layer in graph:
        blocks = blocks_of.setdefault(layer.stage, [])
        if layer.block not in blocks:
            blocks.append(layer.block)
    where: dict[str, Any] = {}
    for stage, blocks in blocks_of.items():
        if stage == "input":
            where.update({b: dot for b in blocks})
            continue
        cluster = _Graph(safe_id(stage, "cluster_s_"), label=_label(stage), style="rounded,dashed",
                                 color="#7f7f7f", fontsize="11")
        dot.add_subgraph(cluster)
        for block in blocks:
            if nested and len(blocks) > 1:
                sub = _Graph(safe_id(block, "cluster_b_"), label=_label(block), style="rounded",
                                     color="#b7b7b7", fontsize="9")
                cluster.add_subgraph(sub)
                where[block] = sub
            else:
                where[block] = cluster
    return where


def _layers(dot: Any, graph: Graph) -> None:
    where = _clusters(dot, graph, nested=True)
    layers = graph.layers
    inside: dict[int, Any] = {}  # nested layer id -> its cluster
    for layer in layers:
        if layer.is_nested:
            continue
        name = layer.name
        what = f"{layer.op} {layer.summary}".strip()
        container = where[layer.block] if layer.nested_in is None else _nested_cluster(
            inside, graph, layers[layer.nested_in], where[layer.block])
        if layer.is_layer:
            label = _label(name, what, shape_text(layer.shape))
            container.add_node(_Node(safe_id(name), label=label, fillcolor=_fill(layer),
                                                   tooltip=_label(f"{name}: {layer.params:,} params")))
        else:  # a Keras operation: drawn as an ellipse, "op" in its label, and not counted as a layer
            label = _label(name, f"op {what}", shape_text(layer.shape))
            container.add_node(_Node(safe_id(name), label=label, fillcolor=_fill(layer),
                                                   shape="ellipse", style="filled",
                                                   tooltip=_label(f"{name}: Keras operation, not a layer")))
    for layer in layers:
        if layer.is_nested:  # its input reaches its first member, its output leaves from its last
            continue
        merge = len(layer.inputs) > 1
        for port, src in enumerate(layer.inputs):
            attrs = {"headlabel": str(port)} if merge else {}
            source = layers[src] if not layers[src].is_nested else layers[layers[src].members[-1]]
            dot.add_edge(_Edge(safe_id(source.name), safe_id(layer.name), **attrs))


def _nested_cluster(inside: dict[int, Any], graph: Graph, nested: Any, parent: Any) -> Any:
    """The cluster drawn around a nested layer's members (made on first use, inside its block's cluster)."""
    if nested.id not in inside:
        cluster = _Graph(safe_id(nested.name, "cluster_n_"), color=_NESTED_COLOR, style="rounded",
                                 fontsize="9", label=_label(f"{nested.name} (Sequential)",
                                                            f"{sum(w.size for w in graph.stored_weights(nested)):,} params"))
        parent.add_subgraph(cluster)
        inside[nested.id] = cluster
    return inside[nested.id]


def _groups(dot: Any, graph: Graph, level: str) -> dict[int, str]:
    found = groups(graph, level)
    layers = graph.layers
    member = {nid: key for key, grp in found.items() for nid in grp.nodes}
    prefix = "s_" if level == "stage" else "b_"
    where = _clusters(dot, graph, nested=False) if level == "block" else {}
    for key, grp in found.items():
        out = layers[grp.output]
        if len(grp.nodes) == 1:
            detail = f"{out.name}: {out.op} {out.summary}".strip()
        else:
            detail = f"{_count(grp.layers, grp.operations)}, {fmt_count(grp.params)} params, {fmt_count(grp.macs)} MACs"
        node = _Node(safe_id(key, prefix), label=_label(key, detail, shape_text(out.shape)),
                          fillcolor=_INPUT_FILL if grp.stage == "input" else _GROUP_FILL)
        where.get(key, dot).add_node(node)
    edges: dict[tuple[str, str], list[str]] = {}
    for layer in layers:
        for u in dict.fromkeys(layer.inputs):
            gu, gv = member[u], member[layer.id]
            if gu != gv:
                shapes = edges.setdefault((gu, gv), [])
                text = shape_text(layers[u].shape)
                if text not in shapes:
                    shapes.append(text)
    for (gu, gv), shapes in edges.items():
        dot.add_edge(_Edge(safe_id(gu, prefix), safe_id(gv, prefix), label=_label(", ".join(shapes))))


        dot.add_edge(_Edge(safe_id(gu, prefix), safe_id(gv, prefix), label=_label(", ".join(shapes))))
    return member


def render(dot_text: str, fmt: str, timeout: float = DEFAULT_LIMITS.graphviz_seconds) -> bytes:
    """Run Graphviz ``dot -T<fmt>`` for at most ``timeout`` seconds (limit 'graphviz_seconds'); a missing
    Graphviz, a failure or a timeout is a user-facing error."""
    exe = shutil.which("dot")
    if exe is None:
        raise SpecError(Diagnostic(
            f"rendering {fmt} needs Graphviz's 'dot' program, which was not found on PATH",
            hint="install Graphviz (apt-get install graphviz, brew install graphviz or conda install graphviz), "
                 "or write the DOT text with --format dot"))
    try:
        proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf8"), capture_output=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:  # run() has killed dot
        raise SpecError(Diagnostic(
            f"Graphviz 'dot' did not finish rendering {fmt} within {timeout:g} seconds (limit 'graphviz_seconds')",
            hint="try --level block or --level stage, or write the DOT text with --format dot")) from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf8", "replace").strip()
        raise SpecError(Diagnostic(f"Graphviz 'dot' failed: {detail[:500]}"))
    return proc.stdout

"""Plain-data views of an expanded graph, shared by every exporter.

Node ids in exports are layer names, not the builder's integer creation ids: names are what people
and weight files use, and they survive inserting a layer elsewhere, so exports diff cleanly between
commits. Everything here is pure Python (no TensorFlow).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from archspec.graph.ir import Graph
from archspec.graph.order import keras_operation_order

_PLAIN_ID = re.compile(r"[A-Za-z0-9_]+")


def safe_id(name: str, prefix: str = "n_") -> str:
    """A DOT identifier that needs no quoting, stable for a given name.

    pydot does not quote DOT keywords (``node``), ports (``a:b``) or embedded quotes in ids, so ids are
    built from ``[A-Za-z0-9_]`` only; names that had to be changed get a short hash of the original so
    ``a/b`` and ``a_b`` stay distinct.
    """
    if _PLAIN_ID.fullmatch(name):
        return prefix + name
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return f"{prefix}{cleaned}_{hashlib.sha1(name.encode('utf8')).hexdigest()[:6]}"


def shape_text(shape: tuple) -> str:
    """``(56, 56, 256)`` -> ``56x56x256`` (``?`` for an open size)."""
    return "x".join("?" if d is None else str(d) for d in shape)


def jsonable(value: Any) -> Any:
    """Tuples to lists, Location to ``file:line:col``, Weight to a dict; recursively."""
    from archspec.errors import Location
    from archspec.ops import Weight

    if isinstance(value, Location):
        return str(value)
    if isinstance(value, Weight):
        return {"name": value.name, "shape": list(value.shape), "trainable": value.trainable}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def named_graph(graph: Graph) -> nx.DiGraph:
    """A networkx graph keyed by layer name with JSON-ready attributes (``inputs`` as names, ``index`` =
    creation id, ``layer`` = whether Keras lists it in ``model.layers`` (false for an op emitted as a Keras
    operation), ``keras_index`` = position in ``model.layers`` (null for those ops), ``keras_operation_index``
    = position in ``model.operations``; both null for the members of a nested layer, which are in its
    ``members``, each with ``nested_in``)."""
    layers = graph.layers
    operation_order = keras_operation_order(graph)
    op_pos = {nid: k for k, nid in enumerate(operation_order)}
    keras_pos = {nid: k for k, nid in enumerate(n for n in operation_order if layers[n].is_layer)}
    out = nx.DiGraph()
    out.graph.update(jsonable(graph.header()))
    out.graph["input"] = layers[graph.input].name
    out.graph["output"] = layers[graph.output].name
    out.graph["outputs"] = {name: layer.name for name, layer in graph.named_outputs().items()}
    for layer in layers:
        attrs = jsonable(layer.as_dict())
        attrs["inputs"] = [layers[i].name for i in layer.inputs]
        attrs.update(index=layer.id, layer=layer.is_layer, keras_index=keras_pos.get(layer.id),
                     keras_operation_index=op_pos.get(layer.id))
        out.add_node(layer.name, **attrs)
    for layer in layers:
        for port, src in enumerate(layer.inputs):
            out.add_edge(layers[src].name, layer.name, port=port, shape=list(layers[src].shape))
    return out


def node_link(graph: Graph) -> dict:
    """networkx node-link data (``nodes``/``edges``) of :func:`named_graph`."""
    return nx.node_link_data(named_graph(graph), edges="edges")


def graphml_graph(graph: Graph) -> nx.DiGraph:
    """:func:`named_graph` with only scalar attributes: GraphML has no lists, maps or nulls.

    Lists and mappings become JSON text (``shape: "[56, 56, 256]"``); the layer attributes are also
    flattened to ``attr_<key>`` so tools can filter on them; nulls are dropped.
    """
    import json

    def flat(data: dict) -> dict:
        out = {}
        for key, value in data.items():
            if value is None:
                continue
            out[key] = json.dumps(value) if isinstance(value, (list, dict)) else value
        for key, value in (data.get("attrs") or {}).items():
            if value is not None:
                out[f"attr_{key}"] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        return out

    named = named_graph(graph)
    g = nx.DiGraph()
    g.graph.update({k: v for k, v in flat(named.graph).items() if k != "attrs"})
    for n, data in named.nodes(data=True):
        g.add_node(n, **flat(data))
    for u, v, data in named.edges(data=True):
        g.add_edge(u, v, **flat(data))
    return g


# ------------------------------------------------------------------------------------------ groups

@dataclass
class Group:
    """A stage or a block: its nodes (creation order) and totals, for collapsed views and summaries.

    ``layers`` counts what Keras lists in ``model.layers``; ``operations`` the ops that are Keras operations,
    not layers (``OpDef.layer`` false), which are among ``nodes`` too; ``inner`` the members of nested
    layers, among ``nodes`` and in the params and MACs, but not in model.layers (their nested layer is).
    """

    key: str
    stage: str
    nodes: list[int] = field(default_factory=list)
    output: int | None = None
    params: int = 0
    trainable: int = 0
    macs: int = 0
    weighted: int = 0
    operations: int = 0
    inner: int = 0

    @property
    def layers(self) -> int:
        return len(self.nodes) - self.operations - self.inner


def groups(graph: Graph, level: str) -> dict[str, Group]:
    """Layers grouped by ``stage`` or ``block`` in first-seen order, each with its output layer.

    A group's output is its last-created layer that feeds another group (or is the network output).
    """
    if level not in ("stage", "block"):
        raise ValueError(f"level must be 'stage' or 'block', got {level!r}")
    out: dict[str, Group] = {}
    layers = graph.layers
    consumers = graph.consumers()
    ends = set(graph.output_ids())
    for layer in layers:
        key = getattr(layer, level)
        grp = out.get(key)
        if grp is None:
            grp = out[key] = Group(key, layer.stage)
        grp.nodes.append(layer.id)
        grp.inner += layer.nested_in is not None
        grp.params += layer.params
        grp.trainable += layer.trainable
        grp.macs += layer.macs
        grp.weighted += layer.nested_in is None and bool(graph.stored_weights(layer))
        grp.operations += not layer.is_layer
        if layer.id in ends or any(getattr(layers[c], level) != key for c in consumers[layer.id]):
            grp.output = layer.id
    for grp in out.values():
        if grp.output is None:  # cannot happen for a graph that passed the dead-layer check
            grp.output = grp.nodes[-1]
    return out


def outputs_text(graph: Graph) -> str:
    """``; outputs: out 8 x 8 x 21, aux 8 x 8 x 21`` for a network with named outputs, else nothing: what
    the one-line headers of the weight checks add, so a report says which model it checked."""
    named = graph.named_outputs()
    return "; outputs: " + ", ".join(f"{k} {shape_text(v.shape)}" for k, v in named.items()) if named else ""


def fmt_count(n: int) -> str:
    """Human-size counts: 3857973248 -> ``3.86G``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


__all__ = ["Group", "fmt_count", "graphml_graph", "groups", "jsonable", "named_graph",
           "node_link", "safe_id", "shape_text"]

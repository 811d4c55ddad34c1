"""Structural diff of two expanded graphs, layer by layer, matched by layer name.

Names are the identity Keras weight files use, so "which of A's weights still load into B by name"
falls out of the same matching. Only what a spec change can alter is compared: op, attributes,
output shape and weight shapes; changed inputs are listed apart as rewiring, because inserting
blocks necessarily rewires the layer after them without changing it.
"""

from __future__ import annotations

from typing import Any

from archspec.export.nodes import fmt_count, jsonable, shape_text
from archspec.graph.ir import Graph, Layer
from archspec.weights.match import weighted_nodes


def _by_name(graph: Graph) -> dict[str, Layer]:
    return {layer.name: layer for layer in graph}


def _totals(graph: Graph) -> dict[str, int]:
    top = graph.top_level()  # model.layers counts a nested layer, not its members
    ops = sum(not n.is_layer for n in top)  # Keras operations that are not layers
    return {"layers": len(top) - ops, "operations": ops, "weighted_layers": len(graph.weighted()),
            "params": sum(n.params for n in graph), "macs": sum(n.macs for n in graph)}


def _changes(old: Layer, new: Layer) -> dict[str, list]:
    out: dict[str, list] = {}
    if old.op != new.op:
        out["op"] = [old.op, new.op]
    if tuple(old.shape) != tuple(new.shape):
        out["shape"] = [list(old.shape), list(new.shape)]
    for key in sorted(set(old.attrs) | set(new.attrs)):
        a, b = old.attrs.get(key), new.attrs.get(key)
        if a != b:
            out[f"attrs.{key}"] = jsonable([a, b])
    wa, wb = [list(w.shape) for w in old.weights], [list(w.shape) for w in new.weights]
    if wa != wb:
        out["weights"] = [wa, wb]
    return out


def _weight_shapes(graph: Graph, layer: Layer) -> list[list]:
    """What a weight file stores for the layer (a nested layer: its members' weights)."""
    return [list(w.shape) for w in graph.stored_weights(layer)]


def diff(a: Graph, b: Graph) -> dict[str, Any]:
    """Everything that differs between ``a`` and ``b``, as JSON-ready data."""
    na, nb = _by_name(a), _by_name(b)
    added = [n for n in nb if n not in na]
    removed = [n for n in na if n not in nb]
    changed, rewired = [], []
    for name, old in na.items():
        new = nb.get(name)
        if new is None:
            continue
        delta = _changes(old, new)
        if delta:
            changed.append({"name": name, "changes": delta})
        ins_a, ins_b = [a.layers[i].name for i in old.inputs], [b.layers[i].name for i in new.inputs]
        if ins_a != ins_b:
            rewired.append({"name": name, "inputs": [ins_a, ins_b]})
    loads, blocked = [], []
    for nid in weighted_nodes(a):
        old = a.layers[nid]
        new = nb.get(old.name)
        if new is None:
            blocked.append({"name": old.name, "reason": f"no layer '{old.name}' in {b.name}"})
        elif _weight_shapes(a, old) != _weight_shapes(b, new):
            blocked.append({"name": old.name,
                            "reason": f"weight shapes {_weight_shapes(a, old)} -> {_weight_shapes(b, new)}"})
        else:
            loads.append(old.name)
    got = set(loads)
    order_a = [_weight_shapes(a, a.layers[n]) for n in weighted_nodes(a)]
    order_b = [_weight_shapes(b, b.layers[n]) for n in weighted_nodes(b)]
    ta, tb = _totals(a), _totals(b)
    return {
        "a": a.name, "b": b.name,
        "totals": {k: {"a": ta[k], "b": tb[k], "delta": tb[k] - ta[k]} for k in ta},
        "added": added, "removed": removed, "changed": changed, "rewired": rewired,
        "outputs": {"a": _outputs(a), "b": _outputs(b)},
        "weights": {
            "by_name": {"loads": loads, "blocked": blocked,
                        "b_without_weights": [b.layers[n].name for n in weighted_nodes(b)
                                              if b.layers[n].name not in got]},
            "by_order": order_a == order_b,
        },
    }


def _outputs(graph: Graph) -> dict[str, dict[str, Any]]:
    """The named outputs (``output: NAME``): each one's layer and shape."""
    return {k: {"layer": layer.name, "shape": list(layer.shape)} for k, layer in graph.named_outputs().items()}


def _blocks(graph: Graph, names: list[str]) -> list[str]:
    """Compact listing: a block whose layers are all in ``names`` is one line, the rest layer by layer."""
    chosen = set(names)
    per_block: dict[str, list[str]] = {}
    for layer in graph:
        per_block.setdefault(layer.block, []).append(layer.name)
    whole = {blk for blk, members in per_block.items() if len(members) > 1 and all(m in chosen for m in members)}
    lines, done = [], set()
    for layer in graph:
        if layer.name not in chosen:
            continue
        if layer.block in whole:
            if layer.block not in done:
                done.add(layer.block)
                members = per_block[layer.block]
                lines.append(f"{layer.block} (block, {len(members)} layers: {members[0]} .. {members[-1]})")
        else:
            lines.append(f"{layer.name} ({layer.op} {shape_text(layer.shape)})")
    return lines


def format_text(result: dict[str, Any], a: Graph, b: Graph) -> str:
    t = result["totals"]

    def total(key: str, human: bool) -> str:
        x, y, d = t[key]["a"], t[key]["b"], t[key]["delta"]
        fmt = (lambda n: f"{n:,} ({fmt_count(n)})") if human else (lambda n: f"{n:,}")
        return f"{key}: {fmt(x)} -> {fmt(y)} ({'+' if d >= 0 else '-'}{abs(d):,})"

    out = [f"--- {result['a']}", f"+++ {result['b']}",
           total("layers", False), total("weighted_layers", False), total("params", True), total("macs", True)]
    if t["operations"]["a"] or t["operations"]["b"]:
        out.insert(3, total("operations", False))
    for title, names, graph, sign in (("added", result["added"], b, "+"), ("removed", result["removed"], a, "-")):
        out.append(f"{title}: {len(names)} layer(s)")
        out += [f"  {sign} {line}" for line in _blocks(graph, names)]
    out.append(f"changed: {len(result['changed'])} layer(s)")
    for item in result["changed"]:
        detail = "; ".join(f"{k} {_short(v[0])} -> {_short(v[1])}" for k, v in item["changes"].items())
        out.append(f"  ~ {item['name']}: {detail}")
    out.append(f"rewired: {len(result['rewired'])} layer(s)")
    for item in result["rewired"]:
        out.append(f"  ~ {item['name']}: inputs {', '.join(item['inputs'][0])} -> {', '.join(item['inputs'][1])}")
    outs = result["outputs"]
    for name in dict.fromkeys([*outs["a"], *outs["b"]]):
        old, new = outs["a"].get(name), outs["b"].get(name)
        if old != new:
            shown = [f"{o['layer']} {shape_text(tuple(o['shape']))}" if o else "none" for o in (old, new)]
            out.append(f"output {name}: {shown[0]} -> {shown[1]}")
    w = result["weights"]
    by_name = w["by_name"]
    total_a = len(by_name["loads"]) + len(by_name["blocked"])
    out.append(f"weights of {result['a']} into {result['b']}: by name {len(by_name['loads'])} of {total_a} "
               f"weighted layers load, {len(by_name['b_without_weights'])} of {result['b']}'s get none; "
               f"by order: {'loads' if w['by_order'] else 'does not load'}")
    out += [f"  ! {item['name']}: {item['reason']}" for item in by_name["blocked"]]
    return "\n".join(out)


def _short(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, (int, type(None))) for v in value):
        return shape_text(tuple(value))
    return str(value)

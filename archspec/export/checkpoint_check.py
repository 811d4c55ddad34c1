"""``check-weights`` for a PyTorch checkpoint: the transfer plan as text or JSON, each problem at the spec
line that made the layer (the same plan and verdict as ``build --weights``, without TensorFlow)."""

from __future__ import annotations

from typing import Any

from archspec.export.nodes import outputs_text
from archspec.export.weight_check import more_line
from archspec.graph.ir import Graph
from archspec.ops import fmt_shape
from archspec.weights.torch_plan import TransferPlan, checkpoint_layers, left_out, optional_text, problems


def verdict(plan: TransferPlan, graph: Graph, allow_partial: bool = False) -> str:
    """``complete``, ``partial`` (loads, leaving out what :func:`skipped` says) or ``fail``, as ``build`` with
    the same ``allow_partial`` would."""
    if problems(plan, graph, allow_partial):
        return "fail"
    return "complete" if plan.complete else "partial"


def to_json(plan: TransferPlan, graph: Graph, fmt: str, allow_partial: bool = False) -> dict[str, Any]:
    layers = graph.layers
    return {
        "file": plan.file, "format": fmt, "family": plan.family, "tensors": plan.tensors,
        "verdict": verdict(plan, graph, allow_partial),
        "mapped": [{"layer": layers[n].name, "tensors": {m.weight: m.tensor for m in maps},
                    "reordered": any(m.features for m in maps)} for n, maps in plan.mapped],
        "unmapped": [{"layer": layers[n].name, "why": why, "loc": str(layers[n].loc)} for n, why in plan.unmapped],
        "shape_mismatches": [{"layer": layers[m.node].name, "tensor": m.tensor, "expected": list(m.expected),
                              "found": list(m.found), "loc": str(layers[m.node].loc)} for m in plan.mismatched],
        "leftover": list(plan.leftover),
        "optional": list(plan.optional),
        "ignored": list(plan.ignored),
        "adapted": list(plan.adapted),
        "diagnostics": [d.format() for d in problems(plan, graph, allow_partial)],
    }


def format_text(plan: TransferPlan, graph: Graph, fmt: str, allow_partial: bool = False, limit: int = 10) -> str:
    """Counts, then every mismatch, unmapped layer and leftover tensor (up to ``limit`` each), then the verdict.
    Layers are counted as the plan pairs them: a nested layer's weighted members each."""
    layers = graph.layers
    count = sum(len(maps) for _, maps in plan.mapped)
    out = [f"{plan.file}: {fmt} checkpoint, {plan.tensors} tensors; {graph.name} maps {plan.family} keys, "
           f"{len(checkpoint_layers(graph))} layers with weights{outputs_text(graph)}",
           f"mapped: {len(plan.mapped)} layers ({count} tensors); unmapped: {len(plan.unmapped)} layers; "
           f"shape mismatches: {len(plan.mismatched)}; leftover: {len(plan.leftover)} tensors; "
           f"ignored: {len(plan.ignored)} ({', '.join(sorted({n.rpartition('.')[2] for n in plan.ignored})) or '-'})"]
    reordered = [layers[n].name for n, maps in plan.mapped if any(m.features for m in maps)]
    if reordered:
        out.append(f"  reordered from channels-first features (flatten -> dense): {', '.join(reordered)}")
    out += [f"  adapted: {text}" for text in plan.adapted]
    for m in plan.mismatched[:limit]:
        layer = layers[m.node]
        out.append(f"  {layer.loc}: shape mismatch: layer '{layer.name}' takes '{m.tensor}' as {fmt_shape(m.expected)},"
                   f" the checkpoint has {fmt_shape(m.found)}")
    for n, why in plan.unmapped[:limit]:
        out.append(f"  {layers[n].loc}: unmapped: layer '{layers[n].name}' gets nothing: {why}")
    for name in plan.leftover[:limit]:
        out.append(f"  leftover: tensor '{name}' is taken by no layer")
    out += more_line((plan.mismatched, plan.unmapped, plan.leftover), limit)
    optional = optional_text(plan, graph)
    if optional:
        out.append(f"  {optional}")
    found = problems(plan, graph, allow_partial)
    if found:
        out += [d.format() for d in found] + ["FAIL: the checkpoint does not load"]
    elif plan.complete:
        out.append("OK: the checkpoint fills every layer with weights")
    else:
        out.append(f"PARTIAL: loads; {'; '.join(left_out(plan, graph))}")
    return "\n".join(out)

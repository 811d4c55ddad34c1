"""Block replay: what lets the builder copy an earlier expansion of a block instead of walking it again.

A *block* is one expansion of a template's body (a stage's repeat or a ``use:`` call) or of a stage's inline
body. In a body without ``use:`` steps (a *leaf* body) the builder reads nothing but

* the scope, through the ``if:`` and attribute values of its steps (the names :func:`reads` finds in them,
  attributes taken from the spec's ``defaults`` included) and through its name templates (``name``,
  ``checkpoint``, ``output``); a step's scope is the block's scope plus the shape variables of the step's input;
* the values its steps name (``in``, ``else``), the running ``prev``, and the shapes of those nodes;
* whether it is inside a nested layer;
* the spec and the limits, which never change during an expansion.

So two expansions of a leaf body with the same :class:`BodyPlan` key (equal values of the names read, equal
value names bound to nodes of equal shapes in the same pattern, the same nesting) take every ``if`` the same
way and make the same layers, attributes, shapes, weights, MACs, inputs (up to renumbering), skips, bindings
and work; only what name templates make (layer names, checkpoint keys, output names) and the stage/block labels
can differ. The builder formats those again in the same scopes and checks them with the same code, and
commits the copy only when nothing in it can fail (work, layers and parameters within their limits, every name
valid and clashing with nothing); otherwise it walks the block, which then meets the same first problem a walk
without replay meets, since nothing was changed before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archspec.lang.expressions import reads
from archspec.limits import Limits
from archspec.ops import OPS


@dataclass(frozen=True)
class BodyPlan:
    """What a leaf body reads: scope names (in values, not in name templates) and value names."""

    reads: tuple[str, ...]
    refs: tuple[str, ...]


def body_plan(body: Any, defaults: dict, limits: Limits) -> BodyPlan | None:
    """The :class:`BodyPlan` of a leaf body, or None for a body that calls a template (its callees' scopes are
    built from arguments, so names could flow into values) or that the builder will refuse anyway."""
    names: dict[str, None] = {}
    refs: dict[str, None] = {}

    def visit(steps: Any) -> bool:
        if not isinstance(steps, list):
            return False
        for step in steps:
            if not isinstance(step, dict) or "use" in step:
                return False
            if "if" in step:
                names.update(dict.fromkeys(reads(step["if"], limits)))
            for key in ("in", "else"):
                value = step.get(key, "prev")
                for ref in value if isinstance(value, list) else [value]:
                    if not isinstance(ref, str):
                        return False
                    refs[ref] = None
            if "sequential" in step:
                if not visit(step["sequential"]):
                    return False
                continue
            opdef = OPS.get(step.get("op")) if isinstance(step.get("op"), str) else None
            if opdef is None or not all(visit(branch) for branch in step.get("branches", [])):
                return False
            given = defaults.get(opdef.name) or {}
            for key in opdef.attrs:
                if key in step or key in given:
                    names.update(dict.fromkeys(reads(step[key] if key in step else given[key], limits)))
        return True

    if not visit(body):
        return None
    refs.pop("prev", None)
    return BodyPlan(tuple(names), tuple(refs))


@dataclass
class Recording:
    """One walked expansion of a leaf body: its layers and everything else it changed, with node ids as made
    (``base`` is its first layer's id; ids below it are the block's entry nodes, ``entry`` in key order)."""

    base: int
    entry: tuple[int, ...]
    # per layer: op, attrs, inputs, shape, weights, loc, pointer, macs, members, nested_in
    layers: list[tuple]
    named: list[tuple]  # per layer, in order: the step, its path, its step scope's shape variables, its op record
    outputs: list[tuple]  # the steps declaring outputs, in order: step, path, node
    made: list[tuple]  # per layer: its step's path
    skipped: list[tuple]  # per skipped step: its path and the value passed on
    taps: list[int]
    values: list[tuple]  # value names the block bound (or bound again), in insertion order, and their nodes
    prev: int
    work: int
    params: int


@dataclass
class Memo:
    """What one expansion learned that others of the same spec and limits can replay (the keys hold every
    value read, so build options may differ): steps' results, leaf blocks, value parameters bound, and the
    plans these are keyed by."""

    steps: dict[tuple, tuple] = field(default_factory=dict)  # _Builder._replay_key -> attrs, shape, costs
    blocks: dict[tuple, Recording | None] = field(default_factory=dict)  # None: walked, not replayable
    bindings: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # value parameters of a call
    plans: dict[tuple, BodyPlan | None] = field(default_factory=dict)  # leaf bodies by path
    binding_plans: dict[tuple, tuple] = field(default_factory=dict)  # see _Builder._binding_plan

"""Block replay: what lets the builder copy an earlier expansion of a block instead of walking it again.

A *block* is one expansion of a template's body (a stage's repeat or a ``use:`` call) or of a stage's inline
body. The builder reads nothing but

* the scope, by looking up names written in the spec's strings (a nested template's scope is built from the
  caller's: its arguments, its defaults, the names it inherits), and shape variables of the nodes made;
* the values its steps name (``in``, ``else``; a call's ``carried`` and tensor arguments), the running
  ``prev``, and the shapes of those nodes;
* whether it is inside a nested layer, how deep in template calls, and the calls around it (which only
  explain errors);
* the spec and the limits, which never change during an expansion.

So two expansions of a body with the same :class:`BodyPlan` key (equal values of every name a string of the
body, of the templates it reaches or of the spec's ``defaults`` mentions; value names bound to nodes of equal
shapes in the same pattern; the same nesting and depth) make the same layers, names, attributes, shapes,
weights, MACs, inputs (up to renumbering), skips, bindings, outputs and work; only the stage/block labels,
which come from the stage, can differ.

A *leaf* body (no ``use:`` steps) is keyed more loosely: only the names its ``if:`` and attribute values read
(attributes taken from ``defaults`` included), since the rest it reads only in name templates (``name``,
``checkpoint``, ``output``), whose steps' scopes are the block's scope plus the shape variables of the step's
input. Its layer names, checkpoint keys and outputs are formatted again in those scopes with the same code.

Either way the builder commits a copy only when nothing in it can fail (work, layers and parameters within
their limits, every name valid and clashing with nothing already made); otherwise it walks the block, which then
meets the same first problem a walk without replay meets, since nothing was changed before it.

The same reasoning replays two smaller things (graph/builder.py): a step's attributes, shape, weights and MACs
(``_replay_key``) and a call's value parameters (``_binding_plan``). Every key is :func:`key_text` of the values
read (bounded: a key never costs more than a small amount of work), and a :class:`Memo` gives up keying a place
that keeps missing. ``builder.REPLAY = False`` turns all of it off; tests/graph/test_expansion_agreement.py
expands the zoo, the invalid corpus and the limits' edges both ways and compares everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from archspec.lang.expressions import reads
from archspec.limits import Limits
from archspec.ops import OPS

KEY_NAMES = 128  # a body whose key would read more scope names is always walked
_KEY_ITEMS, _KEY_CHARS, _KEY_BITS = 64, 256, 1024  # what key_text writes at most
GIVE_UP = 4  # see Memo.worth


@dataclass(frozen=True)
class BodyPlan:
    """What a body's key reads: scope names and value names (``leaf``: only the names values read)."""

    reads: tuple[str, ...]
    refs: tuple[str, ...]
    leaf: bool


def body_plan(body: Any, templates: dict, defaults: dict, limits: Limits, names_in: Callable[[str], tuple]
              ) -> BodyPlan | None:
    """The :class:`BodyPlan` of a body, or None for one the builder will refuse anyway or whose key would read
    more than ``KEY_NAMES`` names (it is walked). ``names_in(template)``: :func:`strings_read` of a template
    (and of ``defaults`` for None), asked once per expansion."""
    names: dict[str, None] = {}
    refs: dict[str, None] = {}
    calls: list[dict] = []

    def visit(steps: Any) -> bool:
        if not isinstance(steps, list):
            return False
        for step in steps:
            if not isinstance(step, dict):
                return False
            if "if" in step:
                names.update(dict.fromkeys(reads(step["if"], limits)))
            for key in ("in", "else"):
                value = step.get(key, "prev")
                for ref in value if isinstance(value, list) else [value]:
                    if not isinstance(ref, str):
                        return False
                    refs[ref] = None
            if "use" in step:
                calls.append(step)
                continue
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
    if calls:  # every name any string it reaches mentions; every value a call may take from it
        reached, todo = set(), [step["use"] for step in calls]
        names.update(dict.fromkeys(strings_read(body, limits)))
        names.update(dict.fromkeys(names_in(None)))
        while todo:
            name = todo.pop()
            if not isinstance(name, str) or name in reached or name not in templates:
                continue
            reached.add(name)
            names.update(dict.fromkeys(names_in(name)))
            todo.extend(step["use"] for step in _steps_in(templates[name].get("body")) if "use" in step)
        for step in calls:
            refs.update(dict.fromkeys(v for v in step.values() if isinstance(v, str)))
            template = templates.get(step["use"]) if isinstance(step["use"], str) else None
            refs.update(dict.fromkeys(n for n in (template or {}).get("carried", []) if isinstance(n, str)))
    refs.pop("prev", None)
    if len(names) > KEY_NAMES:
        return None
    return BodyPlan(tuple(names), tuple(refs), not calls)


def strings_read(value: Any, limits: Limits) -> list[str]:
    """Every name :func:`reads` finds in any string inside ``value`` (dict keys included)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.extend(reads(item, limits))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _steps_in(steps: Any) -> list[dict]:
    """The steps of a body, those inside branches and nested layers included."""
    out, stack = [], [steps]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            out.append(item)
            stack.extend(v for k, v in item.items() if k in ("branches", "sequential"))
    return out


@dataclass
class Recording:
    """One walked expansion of a body: its layers and everything else it changed, with node ids as made
    (``base`` is its first layer's id; ids below it are the block's entry nodes, ``entry`` in key order) and
    the calls inside the block after the block's own."""

    base: int
    entry: tuple[int, ...]
    # per layer: op, name, checkpoint, attrs, inputs, shape, weights, loc, pointer, macs, members, nested_in
    layers: list[tuple]
    named: list[tuple] | None  # a leaf's, per layer: the step, its path, its scope's shape variables, its op record
    outputs: list[tuple]  # per output declared, in order: its step and path (a leaf's) or its name, where, node
    made: list[tuple]  # per layer: its step's path, the calls inside the block
    skipped: list[tuple]  # per skipped step: its path, the calls inside the block, the value passed on
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
    names: dict[str | None, tuple] = field(default_factory=dict)  # strings_read of a template (None: defaults)
    last_body: bool = True  # whether no later body of expand_heads can replay what this one records
    misses: dict[tuple, int] = field(default_factory=dict)  # per step, body or call site: keys not found, this body
    hits: dict[tuple, int] = field(default_factory=dict)  # per step, body or call site: replays

    def worth(self, where: tuple) -> bool:
        """Whether to key (and record) ``where`` at all: always while a later body may replay it, else while
        it has missed fewer than ``GIVE_UP`` times per replay plus one in this body (a DenseNet layer's input
        grows every time: keys and recordings that never replay only cost). Either way the result is the
        same."""
        return not self.last_body or self.misses.get(where, 0) < GIVE_UP * (1 + self.hits.get(where, 0))

    def found(self, where: tuple, hit: bool) -> None:
        counts = self.hits if hit else self.misses
        counts[where] = counts.get(where, 0) + 1

    def next_body(self, last: bool) -> None:
        self.last_body = last
        self.misses.clear()



def key_text(values: list, shapes: list[tuple]) -> str | None:
    """``repr((values, shapes))``, which tells apart what ``==`` does not (``1``, ``1.0``, ``True``; ``0.0``,
    ``-0.0``), when every value is small plain data: scalars, strings of at most 256 characters, integers of at
    most 1024 bits, lists holding at most 64 of them in all, the marker of a name not in scope; else None, and
    what the key is for is walked, not replayed. So a key costs a bounded amount of work whatever the spec
    holds in names a walk may never read (a step an ``if`` skips, a template never called). Shapes (tuples of
    a few dimensions) are written as they are, unless ``repr`` refuses a dimension (more than 4300 digits)."""
    items = 0
    for value in values:
        if type(value) is list:
            items += _items(value)
            if items > _KEY_ITEMS:
                return None
        elif not _small(value):
            return None
    try:
        return repr((values, shapes))
    except ValueError:
        return None


def _items(value: list) -> int:
    """How many items a list holds in all, or more than ``_KEY_ITEMS`` when one is not small plain data."""
    items = len(value)
    for item in value:
        if type(item) is list:
            items += _items(item)
        elif not _small(item):
            return _KEY_ITEMS + 1
        if items > _KEY_ITEMS:
            break
    return items


def _small(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return value.bit_length() <= _KEY_BITS
    return len(value) <= _KEY_CHARS if kind is str else kind in _KEY_SCALARS


_KEY_SCALARS = (bool, float, type(None), object)  # object: lookup's marker of a name not in scope

"""Expand a merged spec into its :class:`~archspec.graph.ir.Graph`: templates, repeats and overrides
become layers with shapes, weights, MACs and the spec location that made each one.

Every rule of the language is applied through :mod:`archspec.lang.rules` (the static checker applies
the same ones); this module only knows how to walk a spec and stops at the first problem.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import re
from collections import ChainMap, Counter
from dataclasses import dataclass, replace
from typing import Any, Iterator, NoReturn

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.explain import Call, Explainer, Made
from archspec.graph.ir import INPUT, NESTED, Graph, Layer
from archspec.lang import rules
from archspec.lang.compose import Spec
from archspec.lang.checks import check_spec, default_problems, published_problems, templates_reached
from archspec.lang.expressions import ExpressionError, format_template, letter, resolve
from archspec.lang.rules import AT_META, CALL_META, INHERITED, STAGE_META, Problem
from archspec.lang.yaml_loader import json_pointer
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.ops import OPS, Attr, OpDef, ShapeError, fmt_shape


@dataclass(frozen=True)
class BuildOptions:
    """keras.applications-style options; they are expression variables too (``classes``, ...)."""

    include_top: bool = True
    pooling: str | None = None
    classes: int | None = None
    classifier_activation: str | None = "softmax"
    input_shape: tuple | None = None
    weights: str | None = None  # the published weights being loaded ('imagenet'); a file path is not an option

    def __post_init__(self) -> None:
        if self.pooling not in (None, "avg", "max"):
            raise ValueError(f"pooling must be None, 'avg' or 'max', got {self.pooling!r}")
        if self.classes is not None and (isinstance(self.classes, bool) or int(self.classes) < 1):
            raise ValueError(f"classes must be a positive integer, got {self.classes!r}")
        if self.weights is not None and not isinstance(self.weights, str):
            raise ValueError(f"weights must be None or the name of published weights, got {self.weights!r}")
        if self.input_shape is not None and len(self.input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {self.input_shape!r}")


@dataclass
class _Frame:
    """One template expansion: its scope, its symbolic values and the running 'prev'."""

    scope: ChainMap  # local names first, the network's vars last (never copied per step)
    values: dict[str, int]
    prev: int
    stage: str
    block: str
    depth: int = 0
    nested: bool = False  # inside a 'sequential:' step: every step must be one link of a chain


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while expanding (the CLI does; a library caller may opt in).

    Expansion allocates tens of thousands of acyclic dicts and lists that GC passes traverse again and
    again for nothing; pausing it saves about a third of a large expansion. It is process-wide, so the
    library never does it behind a caller's back.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def expand(spec: Spec, options: BuildOptions | None = None, limits: Limits = DEFAULT_LIMITS) -> Graph:
    """Expand ``spec`` into its layer graph (pure Python; raises :class:`SpecError` at the first problem)."""
    return _Builder(spec, options or BuildOptions(), limits).run()


def expand_heads(spec: Spec, options: list[BuildOptions], limits: Limits = DEFAULT_LIMITS) -> Iterator[Graph]:
    """``expand(spec, o)`` for each ``o`` in turn, expanding the stages once per group of options that
    differ only in ``include_top``/``pooling`` when nothing outside ``head`` names either: validation checks
    every head a spec declares (and each published-weights variant whose layers may differ), so most
    expansions are only a head. All of them share one ``steps`` budget: however many heads and published
    names a spec declares, checking them costs at most ``limits.steps`` of work.
    """
    key = (lambda o: replace(o, include_top=True, pooling=None)) if _heads_free(spec) else (lambda o: o)
    left = Counter(key(o) for o in options)
    bodies: dict[BuildOptions, tuple[_Builder, int]] = {}
    work = 0
    for opts in options:
        k = key(opts)
        if k not in bodies:
            base = _Builder(spec, opts, limits)._counting_from(work)
            bodies[k] = (base, base._body())
            work = base.work
        base, prev = bodies[k]
        left[k] -= 1
        fork = base._fork(opts, last=left[k] == 0)._counting_from(work)
        yield fork._finish(prev)
        work = fork.work


_PLAIN = (int, float, bool)  # spec values that resolve to themselves

_HEAD_OPTIONS = re.compile(r"\b(include_top|pooling)\b")


def _heads_free(spec: Spec) -> bool:
    """Whether the stages can be shared between heads: nothing outside ``head`` names a head option."""
    return not body_mentions(spec, _HEAD_OPTIONS)


def body_mentions(spec: Spec, pattern: re.Pattern) -> bool:
    """Whether any key or value that expressions or names of the network's body come from matches
    ``pattern`` (``doc`` is prose): what tells whether a build option can change the body."""
    stack = [spec.data.get(k) for k in ("input", "vars", "defaults", "templates", "stages")]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(x for k, v in value.items() if k != "doc" for x in (k, v))
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and pattern.search(value):
            return True
    return False


class _Builder:
    def __init__(self, spec: Spec, options: BuildOptions, limits: Limits):
        self.spec = spec
        self.options = options
        self.limits = limits
        data = spec.data
        self.g = Graph(spec.name, spec.file, data.get("preprocessing", "none"),
                       tuple(options.input_shape or data["input"]))
        self.templates: dict[str, Any] = data.get("templates", {})
        self.defaults: dict[str, dict] = data.get("defaults", {})
        self.explicit: dict[str, int] = {}
        self.auto: list[int] = []
        self.located: dict[tuple, tuple] = {}  # path -> (loc, pointer); a template's steps recur per block
        self.params = 0  # so far, bounded by limits.params
        self.default_problems: dict[tuple, Diagnostic] | None = None  # the checker's, asked for once
        self.checker_errors: list[Diagnostic] | None = None  # all the checker's errors, asked for once
        self._at_cache: tuple[tuple, dict[int, list[str]]] = ((), {})
        self._attr_plans: dict[tuple, tuple] = {}  # by the step's path (a YAML anchor's steps recur): _attr_plan
        self._declared: dict[str, tuple] = {}  # template name -> its defaults, required and tensor names, ...
        self.calls: tuple[Call, ...] = ()  # the template calls being expanded, outermost first
        self.made: list[Made] = []  # per layer: its step's path and the calls then (to explain a failure)
        self.skipped: list[tuple[tuple, tuple, int]] = []  # steps an 'if' skipped: path, calls, the value passed on
        self.work = 0  # steps and repeats expanded, bounded by limits.steps (empty templates make no layers)
        self.shared_budget = False  # whether expansions before this one counted in the same budget
        self.carried: dict[str, int] = {}  # values stages 'carry' to the blocks after them
        self.output_at: dict[str, Location] = {}  # named outputs declared so far, where each was declared

    # ------------------------------------------------------------------------------------ errors
    def check(self, problem: Problem | None, path: tuple) -> None:
        """Stop at ``problem`` (a rule's finding at ``path``), if there is one."""
        if problem is not None:
            self.fail(problem, path)

    def fail(self, problem: Problem, path: tuple, inputs: list[int] = (), dims: tuple[int, ...] | None = None,
             step: tuple[OpDef, dict] | None = None, weights: bool = False, earlier: int | None = None) -> NoReturn:
        """Stop at ``problem``, explained (see :meth:`~archspec.graph.explain.Explainer.explain`: ``inputs``,
        ``dims``, ``step`` and ``weights`` say what a rule on shapes or weights is about, ``earlier`` the
        layer a name clashes with)."""
        where = path + problem.at
        found = Diagnostic(problem.message, self.spec.where(where, key=problem.key), json_pointer(where), problem.hint)
        explainer = Explainer(self.spec, self.g, self.made, self.skipped)
        raise SpecError(explainer.explain(found, where, self.calls, inputs, dims, step, weights, earlier))

    def check_all(self, problems: list[Problem], path: tuple) -> None:
        self.check(problems[0] if problems else None, path)

    # ------------------------------------------------------------------------------------ driver
    def run(self) -> Graph:
        return self._finish(self._body())

    def _body(self) -> int:
        self.check(rules.input_shape(self.g.input_shape, self.limits), ("input",))
        data = self.spec.data  # a size given to build is refused at the requirement; the spec's own at 'input'
        self.check(rules.input_multiple(self.g.input_shape, data.get("input_multiple"), data.get("min_input")),
                   ("input",) if self.options.input_shape is None else ("input_multiple",))
        self.check(rules.checkpoint_family(self.spec.data.get("checkpoint")), ("checkpoint",))
        self.g.checkpoint = self.spec.data.get("checkpoint")
        self.check(rules.checkpoint_optional(self.spec.data.get("checkpoint_optional")), ("checkpoint_optional",))
        self.g.optional_keys = dict(self.spec.data.get("checkpoint_optional") or {})
        self.g.input_multiple = data.get("input_multiple")
        published = published_problems(self.spec, self.limits)  # what 'build --weights' would fetch
        if published:
            raise SpecError(published[0])
        self.global_scope = self._global_scope()
        prev = self.g.input = self._add_layer(INPUT, {}, [], self.g.input_shape, None, ("input",), "input", "input")
        for key, stage in self.spec.data["stages"].items():
            prev = self._stage(key, stage, ("stages", key), prev)
        return prev

    def _fork(self, options: BuildOptions, last: bool = False) -> "_Builder":
        """This builder after the stages, as if built with ``options`` (see :func:`expand_heads`); the
        ``last`` fork takes this builder's graph over instead of copying it."""
        other = copy.copy(self)
        other.options = options
        if not last:
            other.g = self.g.copy()  # layers are copied: auto-naming must not leak between heads
            other.explicit, other.auto = dict(self.explicit), list(self.auto)
            other.output_at = dict(self.output_at)
            other.made, other.skipped = list(self.made), list(self.skipped)
        other.global_scope = other._global_scope()
        return other

    def _finish(self, prev: int) -> Graph:
        self.g.output = self._head(prev)
        self._assign_auto_names()
        self._check_all_used()
        return self.g

    def _check_all_used(self) -> None:
        """A layer that does not feed the output would be dropped by Keras and shift by-order loading."""
        layers = self.g.layers
        used, stack = set(self.g.output_ids()), list(self.g.output_ids())
        while stack:
            node = layers[stack.pop()]
            for src in node.inputs:
                if src not in used:
                    used.add(src)
                    stack.append(src)
            if node.members and node.members[-1] not in used:  # a nested layer uses its members' chain
                used.add(node.members[-1])
                stack.append(node.members[-1])
        dead = [layer for layer in layers if layer.id not in used]
        if dead:
            more = f" ({len(dead) - 1} more)" if len(dead) > 1 else ""
            found = Diagnostic(f"layer '{dead[0].name}' does not contribute to the output{more}", dead[0].loc,
                               dead[0].pointer, "bind it with 'as' and use it, or remove it")
            raise SpecError(Explainer(self.spec, self.g, self.made, self.skipped).dead(found, dead[0].id))

    def _global_scope(self) -> dict[str, Any]:
        vars_ = dict(self.spec.data.get("vars", {}))
        self.check_all(rules.builtin_vars(vars_), ("vars",))
        opts = self.options
        vars_.setdefault("classes", rules.OPTION_DEFAULTS["classes"])
        if opts.classes is not None:
            vars_["classes"] = int(opts.classes)
        vars_.update(include_top=opts.include_top, pooling=opts.pooling,
                     classifier_activation=opts.classifier_activation, weights=opts.weights)
        return vars_

    # ------------------------------------------------------------------------------------ stages
    def _stage(self, key: str, stage: dict, path: tuple, prev: int) -> int:
        self.check(rules.stage_form(key, stage), path)
        stage_scope = ChainMap({"stage": key, **self._shape_vars(prev)}, self.global_scope)
        repeat = self._value(stage.get("repeat", 1), stage_scope, path + ("repeat",), Attr("int"), "repeat")
        self.check(rules.repeat_count(repeat, self.limits), path + ("repeat",))
        self.check_all(rules.inline_stage_keys(key, stage), path)
        inline = "body" in stage
        if not inline:
            self.check(rules.unknown_template(stage["block"], self.templates), path + ("block",))
        at = stage.get("at", {})
        for which in at:
            self.check(rules.at_key(which, repeat), path + ("at", which))
            if not inline and "block" in at[which]:
                self.check(rules.unknown_template(str(at[which]["block"]), self.templates),
                           path + ("at", which, "block"))
        block_name = stage.get("block_name", "{stage}_block{i}")
        tname, template, body, body_path = None, None, stage.get("body"), path + ("body",)
        for i in range(1, repeat + 1):
            self._count_work(path)
            scope = stage_scope.new_child({"i": i, "repeat": repeat, "first": i == 1, "last": i == repeat,
                                           "letter": letter(i), **self._shape_vars(prev)})
            scope["block"] = self._format(block_name, scope, path + ("block_name",))
            if not inline:
                tname = rules.repeat_template(stage["block"], at, self._at_keys(at, repeat).get(i, ()))
                template = self.templates[tname]
                body, body_path = template["body"], ("templates", tname, "body")
            values = self._carried_in(template, tname, path, prev)
            if template is not None:
                args = self._stage_args(stage, at, i, repeat, path)
                self.calls += ((path, tname, args),)  # before binding: a default sees the call
                scope.update(self._bind_params(template, tname, args, scope, path, at, i))
                values.update(self._tensor_args(template, tname, args, ChainMap({"input": prev}, self.carried),
                                                prev, path))
            frame = _Frame(scope=scope, values=values, prev=prev, stage=key, block=scope["block"] or key)
            self._steps(body, body_path, frame)
            if template is not None:
                self.calls = self.calls[:-1]
            prev = frame.prev
            self._carry(stage.get("carry", {}), frame, path)
            for which in self._at_keys(at, repeat).get(i, ()):
                if "carry" in at[which]:  # this repeat's own carry, after the stage's
                    self._carry(at[which]["carry"], frame, path + ("at", which))
        return prev

    def _carried_in(self, template: dict | None, tname: str | None, path: tuple, prev: int) -> dict[str, int]:
        """A block's values: its input, and the carried values it sees (every one in an inline body, read
        through, not copied per block; those its template declares, each counted as work)."""
        if template is None:
            return ChainMap({"input": prev}, self.carried) if self.carried else {"input": prev}
        carried = template.get("carried", [])
        self._count_work(path, len(carried))
        for name in carried:
            self.check(rules.carried_unbound(tname, name, self.carried), path + ("block",))
        return {"input": prev, **{name: self.carried[name] for name in carried}}

    def _carry(self, carry: dict, frame: _Frame, path: tuple) -> None:
        """After a block, bind each name its stage carries to one of the block's values, for later blocks."""
        self._count_work(path + ("carry",), len(carry))
        self.check_all(rules.carry_refs(carry, frame.values), path + ("carry",))
        self.carried.update({name: frame.prev if ref == "prev" else frame.values[ref] for name, ref in carry.items()})

    def _stage_args(self, stage: dict, at: dict, i: int, repeat: int, path: tuple) -> dict[str, tuple[Any, tuple]]:
        """Stage parameters for repeat ``i``: stage values, then 'at' overrides (first, last, index)."""
        args = {k: (v, path + (k,)) for k, v in stage.items() if k not in STAGE_META}
        for which in self._at_keys(at, repeat).get(i, ()):
            self._count_work(path)
            args.update({k: (v, path + ("at", which, k)) for k, v in at[which].items() if k not in AT_META})
        return args

    def _at_keys(self, at: dict, repeat: int) -> dict[int, list[str]]:
        """Repeat index -> the 'at' keys naming it, in written order (one pass, not one per repeat)."""
        key = (id(at), repeat)
        if self._at_cache[0] != key:
            self._at_cache = (key, rules.at_repeats(at, repeat))
        return self._at_cache[1]

    def _bind_params(self, template: dict, tname: str, args: dict[str, tuple[Any, tuple]], scope: dict,
                     call_path: tuple, at: dict | None = None, i: int | None = None) -> dict[str, Any]:
        """Template parameters: declared defaults overridden by call arguments evaluated in ``scope``
        (``at``/``i``: the stage's per-repeat overrides and the repeat being bound)."""
        declared = self._declared.get(tname)
        if declared is None:  # what the template declares, checked once per template
            self.check_all(rules.param_declared_twice(tname, template), ("templates", tname))
            params, required, tensors = template.get("params", {}), template.get("required", []), \
                template.get("tensors", [])
            declared = self._declared[tname] = (
                [(name, default, ("templates", tname, "params", name)) for name, default in params.items()],
                (*required, *tensors), tensors, set(params) | set(required) | set(tensors))
        defaults, needed, tensors, known = declared
        self._count_work(call_path, len(defaults) + len(args))
        bound: dict[str, Any] = {}
        for name, (raw, path) in args.items():
            if name in tensors:
                continue  # a value name, bound by _tensor_args
            if name not in known:
                self.check(rules.unknown_param(name, tname, known), path)
            bound[name] = self._value(raw, scope, path)
        for name in needed:
            if name not in bound and name not in args:
                self.fail(rules.missing_param(name, tname, at, i), call_path)
        seen = scope.new_child(dict(bound))  # a default sees the arguments and the defaults before it
        for name, default, where in defaults:
            if name not in bound:
                bound[name] = seen[name] = self._value(default, seen, where)
            elif isinstance(default, (str, list)) and (problem := self._default_problems().get(where)):
                raise SpecError(problem)  # overridden here, still the checker's error
        return bound

    def _skipped_problem(self, path: tuple, step: dict) -> Diagnostic | None:
        """The checker's first error inside a step the builder skips (``if`` false), or inside a template only
        such steps call: it is never evaluated here, but the checker reads every step, so ``expand`` refuses a
        typo there as ``validate`` does."""
        if self.checker_errors is None:
            self.checker_errors = [d for d in check_spec(self.spec, self.limits) if d.severity == "error"]
        called = templates_reached(self.spec.data.get("templates") or {}, [step])
        wheres = (json_pointer(path), *(json_pointer(("templates", name)) for name in called))
        return next((d for d in self.checker_errors
                     if any(d.pointer == w or (d.pointer or "").startswith(w + "/") for w in wheres)), None)

    def _tensor_args(self, template: dict, tname: str, args: dict[str, tuple[Any, tuple]], known: dict[str, int],
                     prev: int, call_path: tuple) -> dict[str, int]:
        """A template's tensor parameters (``tensors: [skip]``): each argument names one of the caller's
        values (``known``; ``prev`` is the caller's running value), which the body then reads by the
        parameter's name, as ``in: skip``."""
        self.check_all(rules.tensor_params(tname, template), ("templates", tname))
        out = {}
        for name in template.get("tensors", []):
            raw, path = args[name]
            self.check_all(rules.unknown_refs({name: raw}, name, known), path[:-1])
            out[name] = prev if raw == "prev" else known[raw]
        return out

    def _default_problems(self) -> dict[tuple, Diagnostic]:
        if self.default_problems is None:
            self.default_problems = default_problems(self.spec, self.limits)
        return self.default_problems

    def _head(self, prev: int) -> int:
        head = self.spec.data.get("head")
        opts = self.options
        which = "top" if opts.include_top else opts.pooling or "none"
        if head is None or (which == "none" and "none" not in head):  # no tail: a feature extractor
            return prev
        self.check(rules.head_exists(head, which), ("head",))
        scope = ChainMap({"stage": "head", "block": "head", "i": 1, "repeat": 1, "first": True,
                          "last": True, "letter": "a"}, self.global_scope)
        frame = _Frame(scope=scope, values=self._carried_in(None, None, ("head",), prev), prev=prev, stage="head",
                       block="head")
        self._steps(head[which], ("head", which), frame)
        return frame.prev

    # ------------------------------------------------------------------------------------ steps
    def _steps(self, steps: list, path: tuple, frame: _Frame) -> None:
        for k, step in enumerate(steps):
            self._step(step, path + (k,), frame)

    def _step(self, step: dict, path: tuple, frame: _Frame) -> None:
        self._count_work(path)
        if frame.nested:
            self.check(rules.nested_step(step), path)
        inputs = self._inputs(step, path, frame)
        self.check(rules.one_input(step), path)
        scope = frame.scope.new_child(self._shape_vars(inputs[0]))
        self.check(rules.else_needs_if(step), path)
        if "if" in step:
            cond = self._value(step["if"], scope, path + ("if",), numeric=True)
            self.check(rules.condition(cond), path + ("if",))
            if not cond:  # a skipped step yields its input, or the value named by 'else'
                if problem := self._skipped_problem(path, step):
                    raise SpecError(problem)
                otherwise = self._inputs(step, path, frame, "else")[0] if "else" in step else inputs[0]
                self.skipped.append((path, self.calls, otherwise))
                self._bind(step, path, frame, otherwise)
                return
        if "use" in step:
            out = self._call(step, path, frame, inputs[0], scope)
        elif "sequential" in step:
            out = self._sequential(step, path, frame, inputs[0], scope)
        else:
            out = self._op(step, path, frame, inputs, scope)
        self._bind(step, path, frame, out)

    def _bind(self, step: dict, path: tuple, frame: _Frame, node: int) -> None:
        self.check(rules.bind_name(step), path)
        frame.prev = node
        if "as" in step:
            frame.values[step["as"]] = node
        if "output" in step:
            self._output(step, path, frame.scope, node)
        if step.get("tap"):  # a candidate pyramid level (graph/features.py), what the step yields even if skipped
            self.g.taps.append(node)

    def _output(self, step: dict, path: tuple, scope: ChainMap, node: int) -> None:
        """``output: NAME``: the step's value is the model output ``NAME`` (a name template)."""
        raw = step["output"]
        name = None if raw is None else self._format(str(raw), scope, path + ("output",))
        self.check(rules.output_name(name, self.output_at.get(name)), path)
        if name is None:  # a null name declares no output (an output only some builds have)
            return
        self.output_at[name] = self.spec.where(path + ("output",))
        self.g.outputs[name] = node

    def _inputs(self, step: dict, path: tuple, frame: _Frame, key: str = "in") -> list[int]:
        refs = step.get(key, "prev")
        if refs == "prev":  # most steps: nothing the rule could refuse
            return [frame.prev]
        self.check_all(rules.unknown_refs(step, key, frame.values), path)
        return [frame.prev if ref == "prev" else frame.values[ref] for ref in (refs if isinstance(refs, list) else [refs])]

    def _call(self, step: dict, path: tuple, frame: _Frame, inp: int, scope: dict) -> int:
        name = step["use"]
        self.check(rules.unknown_template(name, self.templates), path + ("use",))
        self.check(rules.template_depth(frame.depth + 1, self.limits), path)
        template = self.templates[name]
        args = {k: (v, path + (k,)) for k, v in step.items() if k not in CALL_META}
        self.calls += ((path, name, args),)  # before binding: a default sees the call
        params = self._bind_params(template, name, args, scope, path)
        self._count_work(path, len(template.get("carried", [])))
        for value in template.get("carried", []):  # read from the caller, by name
            self.check(rules.carried_unbound(name, value, frame.values), path)
        values = {"input": inp, **{value: frame.values[value] for value in template.get("carried", [])}}
        values.update(self._tensor_args(template, name, args, frame.values, frame.prev, path))
        inner = _Frame(scope=self._inherited(frame.scope).new_child(params), values=values, prev=inp,
                       stage=frame.stage, block=frame.block, depth=frame.depth + 1, nested=frame.nested)
        self._steps(template["body"], ("templates", name, "body"), inner)
        self.calls = self.calls[:-1]
        return inner.prev

    def _inherited(self, scope: ChainMap) -> ChainMap:
        """What a nested template sees of its caller's scope: the repeat names and the network's vars (with
        the caller's values where it shadows them). Only the small local maps are copied, not the vars."""
        local: dict[str, Any] = {}
        for layer in reversed(scope.maps[:-1]):
            local.update((k, v) for k, v in layer.items() if k in INHERITED or k in self.global_scope)
        return ChainMap(local, self.global_scope)

    def _sequential(self, step: dict, path: tuple, frame: _Frame, inp: int, scope: dict) -> int:
        """A nested layer: the steps inside become its members (a chain from ``inp``), and one more node,
        the nested layer itself, takes ``inp``; consumers read its output, and the Keras model holds it (and
        its members' weights) as one layer."""
        first = len(self.g.layers)
        inner = _Frame(scope=frame.scope, values={}, prev=inp, stage=frame.stage, block=frame.block,
                       depth=frame.depth, nested=True)
        self._steps(step["sequential"], path + ("sequential",), inner)
        members = tuple(range(first, len(self.g.layers)))
        if not members:
            self.fail(rules.empty_sequential(), path)
        name = None
        if step.get("name") is not None:
            name = self._format(str(step["name"]), scope, path + ("name",))
            if name is not None:
                self.check(rules.layer_name(name), path)
        nid = self._add_layer(NESTED, {}, [inp], self.g.layers[members[-1]].shape, name, path, frame.stage,
                              frame.block)
        for m in members:
            self.g.layers[m].nested_in = nid
        self.g.layers[nid].members = members
        return nid

    def _op(self, step: dict, path: tuple, frame: _Frame, inputs: list[int], scope: dict) -> int:
        self.check(rules.unknown_op(step["op"]), path)
        opdef = OPS[step["op"]]
        if frame.nested:
            self.check(rules.nested_op(opdef), path)
        if "branches" in step:
            outs = []
            for b, branch in enumerate(step["branches"]):
                sub = _Frame(scope=frame.scope, values=frame.values, prev=inputs[0], stage=frame.stage,
                             block=frame.block, depth=frame.depth)
                self._steps(branch, path + ("branches", b), sub)
                outs.append(sub.prev)
            inputs = outs
        self.check(rules.arity(opdef, len(inputs)), path)
        attrs = self._attrs(opdef, step, path, scope)
        self.check(rules.attr_combination(opdef, attrs), path)
        shapes = [self.g.layers[i].shape for i in inputs]
        try:
            shape = opdef.shape(attrs, shapes)
        except ShapeError as exc:
            names = ", ".join(f"'{self.g.layers[i].name or self.g.layers[i].op}' {fmt_shape(s)}"
                              for i, s in zip(inputs, shapes))
            self.fail(Problem(f"{exc} (inputs: {names})"), path, inputs, step=(opdef, attrs))
        name = None
        if step.get("name") is not None:
            name = self._format(str(step["name"]), scope, path + ("name",))
            if name is not None:
                self.check(rules.layer_name(name), path)
        key = self._checkpoint_key(opdef, step, scope, path) if "checkpoint" in step else None
        nid = self._add_layer(opdef.name, attrs, inputs, shape, name, path, frame.stage, frame.block, opdef)
        self.g.layers[nid].checkpoint = key
        return nid

    def _checkpoint_key(self, opdef: OpDef, step: dict, scope: dict, path: tuple) -> str | None:
        """The checkpoint key a step names, a name template like ``name`` (null: no tensors for it)."""
        self.check(rules.checkpoint_key(opdef, None), path)
        raw = step["checkpoint"]
        key = None if raw is None else self._format(str(raw), scope, path + ("checkpoint",))
        self.check(rules.checkpoint_key(opdef, key), path)
        return key

    def _attrs(self, opdef: OpDef, step: dict, path: tuple, scope: dict) -> dict[str, Any]:
        plan = self._attr_plans.get(path)
        if plan is None:
            plan = self._attr_plans[path] = self._attr_plan(opdef, step, path)
        known, todo = plan
        attrs = dict(known)
        for key, raw, where, attr, label in todo:
            attrs[key] = self._value(raw, scope, where, attr, label)
        return attrs

    def _attr_plan(self, opdef: OpDef, step: dict, path: tuple) -> tuple[dict[str, Any], list[tuple]]:
        """What a step's attributes need, worked out once per step (a template's steps recur per block): the
        values known already (op defaults; literals that pass their checks), every attribute in the record's
        order, and the rest to resolve in each block's scope. The rules on the step alone apply here, first."""
        self.check_all(rules.unknown_attrs(opdef, step), path)
        defaults = self.defaults.get(opdef.name, {})
        self.check_all(rules.missing_attrs(opdef, step, defaults), path)
        known: dict[str, Any] = {}
        todo: list[tuple] = []
        for key, attr in opdef.attrs.items():
            if key in step:
                raw, where = step[key], path + (key,)
            elif key in defaults:
                raw, where = defaults[key], ("defaults", opdef.name, key)
            else:
                known[key] = attr.default
                continue
            label = f"{opdef.name}.{key}"
            known[key] = None  # its place in the order
            if raw is None or type(raw) in _PLAIN:  # a literal's check never depends on the scope
                value, problem = rules.checked_value(attr, raw, label)
                if problem is None and rules.int_bits(label, value, self.limits) is None:
                    known[key] = value
                    continue
            todo.append((key, raw, where, attr, label))
        return known, todo

    def _value(self, raw: Any, scope: dict, path: tuple, attr: Attr | None = None, label: str = "",
               numeric: bool = False) -> Any:
        """Resolve a spec value (the one string rule of :func:`resolve`), then check it against ``attr``."""
        if raw is None or type(raw) in _PLAIN:  # a literal is itself (most attributes of most layers)
            value = raw
        else:
            value = self._resolve(raw, scope, path, numeric or (attr is not None and attr.kind_def.numeric))
        if attr is None:
            return value
        out, problem = rules.checked_value(attr, value, label, scope)
        self.check(problem, path)
        self.check(rules.int_bits(label, out, self.limits), path)
        return out

    def _resolve(self, raw: Any, scope: dict, path: tuple, numeric: bool) -> Any:
        if isinstance(raw, list):  # element by element, so a problem points at its element
            return [self._resolve(v, scope, path + (k,), numeric) for k, v in enumerate(raw)]
        try:
            return resolve(raw, scope, self.limits, numeric=numeric)
        except ExpressionError as exc:
            hint = exc.hint or (rules.NOT_A_WORD if numeric and str(exc).startswith("unknown name") else None)
            self.fail(Problem(str(exc), hint=hint), path)

    def _format(self, template: str, scope: dict, path: tuple) -> str | None:
        try:
            return format_template(template, scope, self.limits)
        except ExpressionError as exc:
            self.fail(Problem(str(exc), hint=exc.hint), path)

    def _counting_from(self, work: int) -> "_Builder":
        """This builder, its work counted on from ``work`` (the expansions before it in one budget)."""
        self.work, self.shared_budget = work, work > 0
        return self

    def _count_work(self, path: tuple, amount: int = 1) -> None:
        """Expansion work (steps, repeats, parameters bound) is bounded by limits.steps, so a spec inside
        every other limit still cannot make expansion run for minutes."""
        self.work += amount
        if self.work > self.limits.steps:
            hint = "validation counts every head and published-weights variant it expands" \
                if self.shared_budget else None
            self.fail(Problem(f"expansion takes more than {self.limits.steps} steps (limit 'steps')", hint=hint),
                      path)

    # ------------------------------------------------------------------------------------ layers
    def _shape_vars(self, node: int) -> dict[str, Any]:
        shape = self.g.layers[node].shape
        if len(shape) == 3:
            return {"in_height": shape[0], "in_width": shape[1], "in_channels": shape[2]}
        return {"in_height": None, "in_width": None, "in_channels": shape[-1]}

    def _add_layer(self, op: str, attrs: dict, inputs: list[int], shape: tuple, name: str | None, path: tuple,
                   stage: str, block: str, opdef: OpDef | None = None) -> int:
        nid = len(self.g.layers)
        if nid >= self.limits.layers:
            self.fail(Problem(f"the network expands to more than {self.limits.layers} layers (limit 'layers')"), path)
        if opdef is not None:
            shapes = [self.g.layers[i].shape for i in inputs]
            weights = opdef.weights(attrs, shapes)
            macs = opdef.macs(attrs, shapes, shape)
        else:
            weights, macs = [], 0
        self.params += sum(w.size for w in weights)
        if problem := rules.params_total(self.params, self.limits):
            step = (opdef, attrs) if opdef is not None else None  # weights grow with the input's channels too
            self.fail(problem, path, inputs, (-1,), step, weights=True)
        if path not in self.located:
            self.located[path] = (self.spec.where(path), json_pointer(path))
        loc, pointer = self.located[path]
        if name is not None:
            if name in self.explicit:
                first = self.g.layers[self.explicit[name]].loc
                self.fail(Problem(f"duplicate layer name '{name}' (first made at {first})", ("name",)), path,
                          earlier=self.explicit[name])
            self.explicit[name] = nid
        else:
            self.auto.append(nid)
        self.g.layers.append(Layer(nid, op, name or "", attrs, list(inputs), shape, weights, loc, pointer, stage, block,
                                   macs))
        self.made.append((path, self.calls))
        return nid

    def _assign_auto_names(self) -> None:
        """Keras-style names (``conv2d``, ``conv2d_1``, ...) in creation order, skipping explicit names.

        Counters live in the build, not the process, so the same spec always gets the same names. Ops that
        are not layers are named too, from the same counters, as in Keras: a ``keras.ops`` operation takes
        its auto-name from one per-process counter per snake_case class name that layers share
        (``keras/src/utils/naming.py``), so after ``x + 3.0`` (an ``Add`` operation, ``add``) the next
        auto-named ``Add`` layer is ``add_1``. Keras needs the names anyway: every operation of a
        functional model must have a unique name, and saved configs refer to operations by name.
        """
        counters: dict[str, int] = {}
        for nid in self.auto:
            layer = self.g.layers[nid]
            prefix = layer.auto_prefix
            n = counters.get(prefix, 0)
            while (candidate := prefix if n == 0 else f"{prefix}_{n}") in self.explicit:
                n += 1
            counters[prefix] = n + 1
            layer.name = candidate
            layer.auto_named = True

"""The static pass: every independent mistake in a merged spec, found without expanding it.

It walks templates, stages and heads once, knowing which *names* each expression can see but not
their values (a value that depends on a parameter or a shape is :data:`DYNAMIC`), and applies the
rules of :mod:`archspec.lang.rules` to whatever it can decide. The builder applies the same rules to
concrete values; :mod:`archspec.graph.validate` runs both. Pure Python, no TensorFlow.
"""

from __future__ import annotations

import ast
from collections import ChainMap
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator, Mapping, MutableMapping

from archspec.errors import Diagnostic, Location, SpecError, did_you_mean
from archspec.lang import rules
from archspec.lang.compose import Spec
from archspec.lang.expressions import (ExpressionError, evaluate, format_template, is_bare_name, names_in, parse,
                                      template_fields, template_literals)
from archspec.lang.rules import (AT_META, CALL_META, INHERITED, OPTION_DEFAULTS, OPTION_NAMES, REPEAT_NAMES,
                                 SHAPE_VARS, STAGE_META, STEP_META, Problem)
from archspec.lang.sources import bundled_dir
from archspec.lang.yaml_loader import json_pointer
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.ops import OPS, Attr, OpDef

_Values = MutableMapping[str, Any]  # the values a step can name (a ChainMap reads the carried ones through)


class _Dynamic:
    """Marker for a value known only during expansion (it depends on a parameter or a shape)."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<dynamic>"


DYNAMIC: Any = _Dynamic()


@dataclass(frozen=True)
class _Scope:
    """The names an expression can see, and the values of those that are spec constants (vars)."""

    names: frozenset
    consts: dict = field(default_factory=dict)


def check_spec(spec: Spec, limits: Limits = DEFAULT_LIMITS) -> list[Diagnostic]:
    """Every independent problem the builder would meet, found without expanding.

    Found once per spec and limits (a loaded spec is never changed in place): validation runs the checker,
    then its builder asks again for the errors inside a step an ``if`` skips."""
    found = spec.checked.get(limits)
    if found is None:
        found = spec.checked[limits] = _Checker(spec, limits).run()
    return list(found)


def default_problems(spec: Spec, limits: Limits = DEFAULT_LIMITS) -> dict[tuple, Diagnostic]:
    """The first problem the checker finds in each template parameter default, by the default's path.

    The builder evaluates a default only where a call leaves the parameter out; it asks here for the ones
    every call overrides, so a typo in such a default is refused by ``expand`` as by ``validate``."""
    checker = _Checker(spec, limits)
    found: dict[tuple, Diagnostic] = {}
    for name in checker._checked_templates():
        for pname, default in _dict(checker.templates[name].get("params")).items():
            before = len(checker.diags)
            path = ("templates", name, "params", pname)
            checker._value(default, checker._lenient(), path)
            if len(checker.diags) > before:
                found[path] = checker.diags[before]
    return found


def published_problems(spec: Spec, limits: Limits = DEFAULT_LIMITS,
                       names: Iterable[str] | None = None) -> list[Diagnostic]:
    """Every problem of the spec's ``published`` entries (all, or ``names``) under the trust policy, found
    without downloading anything: each value's literal text, the values filled in with the spec's own vars
    and input size, and a hash wherever the entry is not the zoo's own. The checker reports them all, the
    builder stops at the first, and ``build --weights`` refuses them before it fetches."""
    entries = _dict(spec.data.get("published"))
    out: list[Diagnostic] = []

    def report(problem: Problem | None, path: tuple) -> bool:
        if problem is not None:
            out.append(Diagnostic(problem.message, spec.where(path), json_pointer(path), problem.hint))
        return problem is not None

    scope = published_scope(spec)
    for name in entries if names is None else names:
        entry = entries.get(name)
        if not isinstance(entry, dict):
            continue
        for which in ("top", "notop"):
            files = entry.get(which)
            if not isinstance(files, dict):
                continue
            path = ("published", name, which)
            bad = False
            for key, rule in rules.PUBLISHED_VALUES.items():
                raw = files.get(key)
                if isinstance(raw, str):
                    parts = [raw] if key == "url" else template_literals(raw)
                    bad |= any([report(rule(part, literal=True), path + (key,)) for part in parts])
            if files.get("hash") is None and not _zoo_pinned(spec, path):
                culprit = next(k for k in ("url", "file", "hash") if not _in_zoo(spec.where(path + (k,))))
                report(rules.published_hash_required(str(name), which), path + (culprit,))
            elif not bad and _published_open(entry, scope, limits):
                key = "file"
                try:  # the values this spec's own options give; other input sizes are checked when built
                    for key, value in published_values(files, scope, limits):
                        if value is not None and report(rules.PUBLISHED_VALUES[key](value), path + (key,)):
                            break
                except ExpressionError:
                    pass  # a template that cannot be filled is the build's located error
    return out


def published_scope(spec: Spec, input_shape: tuple | None = None) -> dict[str, Any]:
    """What a published entry's templates see: the spec's vars, ``rows`` and ``cols`` (the input's height and
    width, null when open)."""
    shape = input_shape or spec.data.get("input")
    shape = tuple(shape) if isinstance(shape, (list, tuple)) and len(shape) == 3 else (None, None, None)
    return {**_dict(spec.data.get("vars")), "rows": shape[0], "cols": shape[1]}


def published_values(files: Mapping[str, Any], scope: Mapping[str, Any],
                     limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[str, str | None]]:
    """``(key, value)`` for ``file``, ``url`` and ``hash`` of one published file, each template filled in
    turn (``url`` and ``hash`` see ``file``); an unfillable one raises :class:`ExpressionError` at its key."""
    found: dict[str, str | None] = {}
    for key in ("file", "url", "hash"):
        raw = files.get(key)
        found[key] = None if raw is None else format_template(str(raw), {**scope, **found}, limits)
        yield key, found[key]


def _published_open(entry: dict, scope: Mapping[str, Any], limits: Limits) -> bool:
    condition = entry.get("if", True)
    try:
        return bool(evaluate(condition, scope, limits) if isinstance(condition, str) else condition)
    except ExpressionError:
        return False


def _zoo_pinned(spec: Spec, path: tuple) -> bool:
    """Whether a published file without a hash is the bundled zoo's own: its ``file``, ``url`` and null ``hash``
    written in the zoo's files (a spec that extends a bundled one), or the same ``file`` and ``url`` templates as
    a bundled entry without a hash (a copy of a bundled spec)."""
    if all(_in_zoo(spec.where(path + (key,))) for key in ("file", "url", "hash")):
        return True
    files = spec.data["published"][path[1]][path[2]]
    return (files.get("file"), files.get("url")) in _zoo_unhashed()


@lru_cache(maxsize=1)
def _zoo_unhashed() -> frozenset:
    """``(file, url)`` templates of the bundled entries without a hash (read once, only when a spec outside the
    zoo has such an entry)."""
    from archspec.lang.zoo_unhashed import stored

    return stored()


def _in_zoo(where: Location) -> bool:
    """A value written in a bundled spec file (not a user's file, not a ``--set``)."""
    if where.line is None:
        return False
    try:
        return Path(where.file).resolve().is_relative_to(bundled_dir().resolve())
    except (OSError, RuntimeError):
        return False


def unique(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Each (location, message, severity) once, first occurrence kept."""
    seen: dict[tuple, Diagnostic] = {}
    for d in diags:
        seen.setdefault((d.location, d.message, d.severity), d)
    return list(seen.values())


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


class _Checker:
    def __init__(self, spec: Spec, limits: Limits):
        self.spec = spec
        self.limits = limits
        self.diags: list[Diagnostic] = []
        data = spec.data
        self.templates = {k: v for k, v in _dict(data.get("templates")).items() if isinstance(v, dict)}
        self.defaults = _dict(data.get("defaults"))
        self.vars = _dict(data.get("vars"))
        self.constants = {**OPTION_DEFAULTS, **self.vars}
        self.global_names = frozenset(self.vars) | frozenset(OPTION_NAMES)
        # a library's templates may use vars of the networks that import it: names are checked there
        self.open_names = data.get("kind") == "library"
        self.lenient: _Scope | None = None
        self.carried: dict[str, Any] = {}  # names the stages so far 'carry' (read through, never copied)
        self.hints_left = 200
        self.all_params = frozenset(
            str(p) for t in self.templates.values()
            for p in [*_dict(t.get("params")), *_list(t.get("required"))] if isinstance(p, str)
        )

    def report(self, problem: Problem | None, path: tuple) -> bool:
        """Record ``problem`` found at ``path``; True when there was one."""
        if problem is None:
            return False
        where = path + problem.at
        self.diags.append(Diagnostic(problem.message, self.spec.where(where, key=problem.key), json_pointer(where),
                                     problem.hint))
        return True

    def report_all(self, problems: Iterable[Problem], path: tuple) -> None:
        for problem in problems:
            self.report(problem, path)

    def error(self, message: str, path: tuple, hint: str | None = None) -> None:
        self.report(Problem(message, hint=hint), path)

    def scope(self, local: Iterable[str]) -> _Scope:
        local = frozenset(local)
        return _Scope(local | self.global_names, {k: v for k, v in self.constants.items() if k not in local})

    def run(self) -> list[Diagnostic]:
        self.report_all(rules.builtin_vars(self.vars), ("vars",))
        self.report(rules.checkpoint_family(self.spec.data.get("checkpoint")), ("checkpoint",))
        self.report(rules.checkpoint_optional(self.spec.data.get("checkpoint_optional")), ("checkpoint_optional",))
        for name in self._checked_templates():
            self._template(name, self.templates[name])
        self._defaults()
        if self.spec.data.get("kind", "network") == "network":
            if "input" in self.spec.data:
                self.report(rules.input_shape(self.spec.data["input"], self.limits), ("input",))
                self.report(rules.input_multiple(self.spec.data["input"], self.spec.data.get("input_multiple"),
                                                 self.spec.data.get("min_input")), ("input",))
            for key, stage in _dict(self.spec.data.get("stages")).items():
                if isinstance(stage, dict):
                    self._stage(str(key), stage, ("stages", key))
            for which, steps in _dict(self.spec.data.get("head")).items():
                if which in rules.HEADS:  # a head reads the stages' output and the values they carry
                    self._steps(steps, ("head", which), self.scope({*INHERITED, *SHAPE_VARS}),
                                ChainMap({"input": None}, self.carried))
            self.diags += published_problems(self.spec, self.limits)
        return unique(self.diags)

    def _checked_templates(self) -> list[str]:
        """A library's templates all; a network's, those its stages and heads use (directly or not):
        what the network does not use cannot break it, and its libraries are checked on their own."""
        if self.open_names:
            return list(self.templates)
        data = self.spec.data
        roots = [s for s in _dict(data.get("stages")).values() if isinstance(s, dict)]
        todo = [s["block"] for s in roots if isinstance(s.get("block"), str)]
        seen = templates_reached(self.templates, [s.get("body") for s in roots] + list(_dict(data.get("head")).values()),
                                 todo)
        return [name for name in self.templates if name in seen]

    # --------------------------------------------------------------------------------------- sections
    def _lenient(self) -> _Scope:
        """Names a template default or a network default might see: it depends on the call site (built
        once: a template may declare thousands of parameters)."""
        if self.lenient is None:
            self.lenient = self.scope({*INHERITED, *SHAPE_VARS, *self.all_params})
        return self.lenient

    def _template(self, name: str, template: dict) -> None:
        path = ("templates", name)
        self.report_all(rules.param_declared_twice(name, template), path)
        self.report_all(rules.tensor_params(name, template), path)
        params = _dict(template.get("params"))
        required = [r for r in _list(template.get("required")) if isinstance(r, str)]
        for pname, default in params.items():
            self._value(default, self._lenient(), path + ("params", pname))
        scope = self.scope({*params, *required, *INHERITED, *SHAPE_VARS})
        self._steps(template.get("body"), path + ("body",), scope,
                    dict.fromkeys(["input", *_carried(template), *_tensors(template)]))

    def _defaults(self) -> None:
        for opname, attrs in self.defaults.items():
            opdef = OPS.get(opname)
            if opdef is None or not isinstance(attrs, dict):
                continue  # the schema reports these
            for key, raw in attrs.items():
                if key in opdef.attrs:
                    self._typed(raw, self._lenient(), ("defaults", opname, key), opdef.attrs[key],
                                f"{opname}.{key}")

    def _stage(self, key: str, stage: dict, path: tuple) -> None:
        self.report(rules.stage_form(key, stage), path)
        outer = self.scope({"stage", *SHAPE_VARS})
        repeat = self._typed(stage.get("repeat", 1), outer, path + ("repeat",), Attr("int"), "repeat")
        known_repeat = None
        if repeat is not DYNAMIC and not self.report(rules.repeat_count(repeat, self.limits), path + ("repeat",)):
            known_repeat = repeat
        at = _dict(stage.get("at"))
        for which in at:
            self.report(rules.at_key(which, known_repeat), path + ("at", which))
        if isinstance(stage.get("block_name"), str):
            self._name(stage["block_name"], self.scope({"stage", *SHAPE_VARS, *REPEAT_NAMES}), path + ("block_name",))
        inner = self.scope({"stage", "block", *SHAPE_VARS, *REPEAT_NAMES})
        if "body" in stage and "block" not in stage:
            self.report_all(rules.inline_stage_keys(key, stage), path)
            values = ChainMap({"input": None}, self.carried)
            self._steps(stage["body"], path + ("body",), inner, values)
            self._carry(stage, values, path)
            return
        tname = stage.get("block")
        tensors = _tensors(self.templates.get(tname, {})) if isinstance(tname, str) else []
        known = ChainMap({"input": None}, self.carried)  # the values a tensor argument may name
        for k in [k for k in stage if k not in STAGE_META]:
            self._argument(k, stage, tensors, inner, path, known)
        for which, values in at.items():
            for k in [k for k in _dict(values) if k not in AT_META]:
                self._argument(k, values, tensors, inner, path + ("at", which), known)
        if isinstance(tname, str) and not self.report(rules.unknown_template(tname, self.templates), path + ("block",)):
            self._stage_args(tname, stage, at, path, known_repeat)
            used = [tname, *(str(v["block"]) for v in at.values() if isinstance(v, dict) and "block" in v)]
            values = None
            for name in [n for n in dict.fromkeys(used) if n in self.templates]:
                template = self.templates[name]
                for carried in _carried(template):
                    self.report(rules.carried_unbound(name, carried, self.carried), path + ("block",))
                mine = {"input", *_carried(template), *_tensors(template), *_bound(template.get("body"))}
                values = mine if values is None else values & mine  # what every repeat's block binds
            self._carry(stage, values, path)

    def _carry(self, stage: dict, values: Collection[str], path: tuple) -> None:
        """A stage's 'carry', and its 'at' entries' for their repeats, name values of its block (``values``:
        those bound after the block ran)."""
        carries = [(path, _dict(stage.get("carry")))]
        carries += [(path + ("at", w), _dict(v.get("carry"))) for w, v in _dict(stage.get("at")).items()
                    if isinstance(v, dict)]
        for where, carry in carries:
            self.report_all(rules.carry_refs(carry, values), where + ("carry",))
            self.carried.update(carry)

    def _stage_args(self, tname: str, stage: dict, at: dict, path: tuple, repeat: int | None) -> None:
        """Stage arguments against the template each repeat uses (an 'at' entry's ``block`` switches it, see
        :func:`rules.repeat_template`), including per-repeat 'at' overrides."""
        switched = {which: str(v["block"]) for which, v in at.items() if isinstance(v, dict) and "block" in v}
        for which, name in switched.items():
            self.report(rules.unknown_template(name, self.templates), path + ("at", which, "block"))
        if any(name not in self.templates for name in switched.values()):
            return
        # each case: (template, the 'at' entries that apply, the repeat for messages); one per repeat when known
        if repeat is None:
            plain = [w for w in at if w not in switched]
            cases = [(tname, plain, None), *((name, [*plain, w], None) for w, name in switched.items())]
        else:
            cases = []
            by_repeat = rules.at_repeats(at, repeat)  # one pass over the keys, not one per repeat
            for i in range(1, repeat + 1):
                entries = by_repeat.get(i, [])
                cases.append((rules.repeat_template(tname, at, entries), entries, i))
        seen: set[tuple] = set()
        for name, entries, i in cases:
            self._args_for(name, stage, at, entries, path, i, repeat, seen)

    def _args_for(self, tname: str, stage: dict, at: dict, entries: list, path: tuple, i: int | None,
                  repeat: int | None, seen: set) -> None:
        """One repeat's arguments (the stage's, then its 'at' entries') against template ``tname``; ``seen``
        keeps a problem found for several repeats to one report."""
        template = self.templates[tname]
        required = [r for r in _list(template.get("required")) if isinstance(r, str)]
        known = {*_dict(template.get("params")), *required, *_tensors(template)}
        unknown, given = [], set()
        places = [((k,), k) for k in stage if k not in STAGE_META]
        places += [(("at", w, k), k) for w in entries for k in _dict(at[w]) if k not in AT_META]
        for where, k in places:
            given.add(k)
            if k not in known:
                unknown.append(k)
                if (where, tname) not in seen:
                    seen.add((where, tname))
                    self.report(rules.unknown_param(k, tname, known), path + where)
        for name in [*required, *_tensors(template)]:
            if name in given or rules.mistyped(name, unknown) or (name, tname) in seen:
                continue
            if repeat is None and any(name in _dict(v) for v in at.values()):
                continue  # unknown count: trust any override, the builder checks the rest
            seen.add((name, tname))
            self.report(rules.missing_param(name, tname, at, i), path)

    # --------------------------------------------------------------------------------------- steps
    def _steps(self, steps: Any, path: tuple, scope: _Scope, values: _Values) -> None:
        for k, step in enumerate(_list(steps)):
            if isinstance(step, dict):
                self._step(step, path + (k,), scope, values)

    def _step(self, step: dict, path: tuple, scope: _Scope, values: _Values) -> None:
        self.report_all(rules.unknown_refs(step, "in", values), path)
        self.report(rules.one_input(step), path)
        self.report(rules.else_needs_if(step), path)
        if "else" in step:
            self.report_all(rules.unknown_refs(step, "else", values), path)
        if "if" in step:
            value = self._typed(step["if"], scope, path + ("if",), None, "if")
            if value is not DYNAMIC:
                self.report(rules.condition(value), path + ("if",))
        if "use" in step:
            self._call(step, path, scope, values)
        elif "sequential" in step:
            self._sequential(step, path, scope, values)
        elif "op" in step:
            self._op(step, path, scope, values)
        if not self.report(rules.bind_name(step), path) and isinstance(step.get("as"), str):
            values[step["as"]] = None
        if "output" in step:
            name = step["output"] if step["output"] is None else self._name(str(step["output"]), scope, path + ("output",))
            if name is not DYNAMIC:
                self.report(rules.output_name(name), path)

    def _sequential(self, step: dict, path: tuple, scope: _Scope, values: _Values) -> None:
        """A nested layer: its steps are links of a chain (no other inputs, bindings or branches), its ops
        layers; inside, the steps see the same names as the step itself."""
        inner = _list(step["sequential"])
        for k, sub in enumerate(inner):
            if not isinstance(sub, dict):
                continue
            where = path + ("sequential", k)
            self.report(rules.nested_step(sub), where)
            if isinstance(sub.get("op"), str) and sub["op"] in OPS:
                self.report(rules.nested_op(OPS[sub["op"]]), where)
        self._steps(inner, path + ("sequential",), scope, ChainMap({}, values))
        name = step.get("name")
        if isinstance(name, str):
            value = self._name(name, scope, path + ("name",))
            if value is not DYNAMIC:
                self.report(rules.layer_name(value), path)

    def _call(self, step: dict, path: tuple, scope: _Scope, values: _Values) -> None:
        tname = step["use"]
        args = [k for k in step if k not in CALL_META]
        template = self.templates.get(tname) if isinstance(tname, str) else None
        tensors = _tensors(template or {})
        for k in args:
            self._argument(k, step, tensors, scope, path, values)
        if template is None:
            self.report(rules.unknown_template(tname, self.templates), path + ("use",))
            return
        required = [r for r in _list(template.get("required")) if isinstance(r, str)]
        known = {*_dict(template.get("params")), *required, *tensors}
        unknown = [k for k in args if k not in known]
        for k in unknown:
            self.report(rules.unknown_param(k, tname, known), path + (k,))
        for name in [*required, *tensors]:
            if name not in step and not rules.mistyped(name, unknown):
                self.report(rules.missing_param(name, tname), path)
        for name in _carried(template):
            self.report(rules.carried_unbound(tname, name, values), path)

    def _argument(self, key: str, args: dict, tensors: list[str], scope: _Scope, path: tuple,
                  values: Collection[str]) -> None:
        """One argument of a template call or a stage: a tensor parameter's names a value, any other is a value."""
        if key in tensors:
            self.report_all(rules.unknown_refs(args, key, values), path)
        else:
            self._value(args[key], scope, path + (key,))

    def _op(self, step: dict, path: tuple, scope: _Scope, values: _Values) -> None:
        if self.report(rules.unknown_op(step["op"]), path):
            return
        opdef = OPS[step["op"]]
        for b, branch in enumerate(_list(step.get("branches"))):
            self._steps(branch, path + ("branches", b), scope, values)
        self.report(rules.arity(opdef, rules.input_count(step)), path)
        self.report_all(rules.unknown_attrs(opdef, step), path)
        self.report_all(rules.missing_attrs(opdef, step, _dict(self.defaults.get(opdef.name))), path)
        literal = {}
        for key, attr in opdef.attrs.items():
            if key in step:
                literal[key] = self._typed(step[key], scope, path + (key,), attr, f"{opdef.name}.{key}")
        self._combination(opdef, literal, path)
        name = step.get("name")
        if isinstance(name, str):
            value = self._name(name, scope, path + ("name",))
            if value is not DYNAMIC:
                self.report(rules.layer_name(value), path)
        if "checkpoint" in step:
            self._checkpoint_key(opdef, step["checkpoint"], scope, path)

    def _checkpoint_key(self, opdef: OpDef, raw: Any, scope: _Scope, path: tuple) -> None:
        """A step's checkpoint key: the op must take checkpoint tensors; a literal key must be a module path."""
        if self.report(rules.checkpoint_key(opdef, None), path) or raw is None:
            return
        value = self._name(str(raw), scope, path + ("checkpoint",))
        if value is not DYNAMIC:
            self.report(rules.checkpoint_key(opdef, value), path)

    def _combination(self, opdef: OpDef, literal: dict, path: tuple) -> None:
        """Cross-attribute rules, when every attribute is a literal (the builder checks the rest)."""
        attrs = {}
        defaults = _dict(self.defaults.get(opdef.name))
        for key, attr in opdef.attrs.items():
            if key in literal:
                value = literal[key]
            elif key in defaults or attr.required:
                return
            else:
                value = attr.default
            if value is DYNAMIC:
                return
            attrs[key] = value
        self.report(rules.attr_combination(opdef, attrs), path)

    # --------------------------------------------------------------------------------------- values
    def _typed(self, raw: Any, scope: _Scope, path: tuple, attr: Attr | None, label: str) -> Any:
        """Check a value of known kind; returns the literal (coerced) value, or DYNAMIC."""
        numeric = attr is None or attr.kind_def.numeric
        value = self._value(raw, scope, path, numeric)
        if value is DYNAMIC or attr is None:
            return value
        out, problem = rules.checked_value(attr, value, label, scope.names)
        if self.report(problem, path) or self.report(rules.int_bits(label, out, self.limits), path):
            return DYNAMIC
        return out

    def _value(self, value: Any, scope: _Scope, path: tuple, numeric: bool = False) -> Any:
        """Mirror :func:`archspec.lang.expressions.resolve` on names only; returns a literal or DYNAMIC."""
        if isinstance(value, list):
            items = [self._value(v, scope, path + (i,), numeric) for i, v in enumerate(value)]
            return DYNAMIC if any(v is DYNAMIC for v in items) else items
        if not isinstance(value, str):
            return value
        text = value.strip()
        if is_bare_name(text):
            if text in scope.names:
                return scope.consts.get(text, DYNAMIC) if text in scope.consts else DYNAMIC
            if text in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[text]
            if numeric and not self.open_names:
                self.error(f"unknown name '{text}'", path, self._hint(text, scope) or rules.NOT_A_WORD)
            return DYNAMIC if numeric else value
        if "{" not in text:
            try:
                parse(text, self.limits.expression_chars, self.limits.expression_depth)
            except ExpressionError as exc:
                if numeric:
                    self.error(str(exc), path, exc.hint)
                    return DYNAMIC
                return value
            return self._expression(text, scope, path)
        return self._name(value, scope, path)

    def _expression(self, text: str, scope: _Scope, path: tuple) -> Any:
        try:
            free = names_in(text, self.limits)
        except ExpressionError as exc:
            self.error(str(exc), path, exc.hint)
            return DYNAMIC
        unknown = [] if self.open_names else sorted(free - scope.names)
        for name in unknown:
            self.error(f"unknown name '{name}'", path, self._hint(name, scope))
        if unknown:
            return DYNAMIC
        if free <= set(scope.consts) and not (self.open_names and free):
            try:
                return evaluate(text, scope.consts, self.limits)
            except ExpressionError as exc:
                self.error(str(exc), path, exc.hint)
                return DYNAMIC
        if _divides_by_zero(text, self.limits):
            self.error("division by zero", path)
        return DYNAMIC

    def _hint(self, name: str, scope: _Scope) -> str | None:
        """A did-you-mean for the first 200 unknown names of a spec: each costs a pass over the names in
        scope, and a spec can declare thousands of both."""
        self.hints_left -= 1
        return did_you_mean(name, scope.names) if self.hints_left >= 0 else None

    def _name(self, template: str, scope: _Scope, path: tuple) -> Any:
        """Check each ``{expr}`` field of a name template; the literal name when it has none."""
        try:
            fields = template_fields(template)
        except ExpressionError as exc:
            self.error(str(exc), path)
            return DYNAMIC
        for text in fields:
            self._expression(text, scope, path)
        return DYNAMIC if fields else template.replace("{{", "{").replace("}}", "}")


def _within(steps: Any, nested: tuple[str, ...]) -> Iterator[dict]:
    """Every step in ``steps`` and, below each, in the step lists its ``nested`` keys hold."""
    stack = [steps]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            stack += [item.get(key) for key in nested]


def templates_reached(templates: dict, steps: Any, names: Iterable[str] = ()) -> list[str]:
    """The templates ``steps`` (and the templates ``names``) call, directly or through other templates."""
    todo, seen = [*names, *_uses(steps)], []
    while todo:
        name = todo.pop()
        if name in templates and name not in seen:
            seen.append(name)
            todo += _uses(templates[name].get("body"))
    return seen


def _uses(steps: Any) -> list[str]:
    """Template names called anywhere in ``steps`` (nested lists and branches included)."""
    return [step["use"] for step in _within(steps, ("branches", "sequential")) if isinstance(step.get("use"), str)]


def _carried(template: dict) -> list[str]:
    """The carried values a template declares it reads."""
    return [name for name in _list(template.get("carried")) if isinstance(name, str)]


def _tensors(template: dict) -> list[str]:
    """A template's tensor parameters (``tensors: [skip]``): arguments that name values."""
    return [name for name in _list(template.get("tensors")) if isinstance(name, str)]


def _bound(steps: Any) -> set[str]:
    """The 'as' names a body binds in its own frame (its steps and their branches, not called templates)."""
    return {step["as"] for step in _within(steps, ("branches",)) if isinstance(step.get("as"), str)}


@lru_cache(maxsize=4096)
def _divides_by_zero(text: str, limits: Limits) -> bool:
    """``x / 0``, ``x // 0`` or ``x % 0`` with a literal zero, whatever ``x`` is."""
    tree = parse(text, limits.expression_chars, limits.expression_depth)
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Div, ast.FloorDiv, ast.Mod))
               and isinstance(n.right, ast.Constant) and n.right.value == 0 and not isinstance(n.right.value, bool)
               for n in ast.walk(tree))

"""Validation short of building Keras layers: every independent mistake, each once, with its spec line.

The builder stops at its first problem; CI wants them all. So validation runs in three layers:

1. the JSON Schema, per file (collected for every file of an ``imports``/``extends`` chain);
2. a static pass over the merged spec (:func:`check_spec`) that walks templates, stages and heads once,
   knowing which *names* each expression can see but not their values: unknown templates, ops,
   parameters, attributes, expression names and ``in:`` references, literal values of the wrong type,
   repeat counts and ``at`` keys;
3. full expansion with shape inference (the builder), once per head, whose error is kept unless it
   repeats one already found.

Pure Python: nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from archspec.errors import Diagnostic, SpecError, did_you_mean
from archspec.graph.builder import CALL_META, INHERITED, RESERVED, STAGE_META, STEP_META, \
    BuildOptions, at_selects, expand_heads
from archspec.ops import ACTIVATIONS, NUMERIC_KINDS, OPS, Attr, OpDef, coerce
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.lang.compose import Spec, SpecCache, load_spec
from archspec.lang.expressions import ExpressionError, evaluate, is_bare_name, names_in, parse
from archspec.lang.yaml_loader import json_pointer

SHAPE_VARS = frozenset(("in_channels", "in_height", "in_width"))
OPTION_NAMES = frozenset(("classes", "include_top", "pooling", "classifier_activation"))
OPTION_DEFAULTS = {"include_top": True, "pooling": None, "classifier_activation": "softmax"}
REPEAT_NAMES = frozenset(("i", "repeat", "first", "last", "letter"))


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


# ------------------------------------------------------------------------------------------- entry points

def validate_file(path: str | Path, limits: Limits = DEFAULT_LIMITS, cache: SpecCache | None = None,
                  options: BuildOptions | None = None) -> list[Diagnostic]:
    """Every problem in one spec file (a network is expanded; a ``kind: library`` file is checked statically)."""
    path = Path(path)
    cache = cache if cache is not None else SpecCache(collect=True)
    try:
        spec = load_spec(path, None, limits, cache)
    except SpecError as exc:
        return _unique([*_chain_problems(path, cache), *exc.diagnostics])
    chain = _chain_problems(path, cache)
    found = validate_spec(spec, limits, options, expand_graph=not _errors(chain))
    return _sorted(_unique([*chain, *(d for d in found if not _inside(d, chain))]), str(path))


def _sorted(diags: list[Diagnostic], own: str) -> list[Diagnostic]:
    """By position: this file's problems first, then those of the files it names (each followed by notes)."""
    def key(d: Diagnostic) -> tuple:
        loc = d.location
        return (loc is None or loc.file != own, loc.file if loc else "", loc.line or 0 if loc else 0,
                loc.col or 0 if loc else 0)

    return sorted(diags, key=key)


def validate_spec(spec: Spec, limits: Limits = DEFAULT_LIMITS, options: BuildOptions | None = None,
                  expand_graph: bool = True) -> list[Diagnostic]:
    """Static checks, then (for a schema-valid network) expansion for every head it declares."""
    found = check_spec(spec, limits)
    if not expand_graph or spec.data.get("kind", "network") != "network":
        return found
    runs = [options or BuildOptions()]
    if options is None and isinstance(spec.data.get("head"), dict):
        runs += [BuildOptions(include_top=False, pooling=p) for p in ("avg", "max") if p in spec.data["head"]]
    graphs = expand_heads(spec, runs, limits)
    for _ in runs:
        try:
            graph = next(graphs)
        except SpecError as exc:
            found += [d for d in exc.diagnostics if not _covered(d, found)]
            break
        found += [d for d in _graph_checks(graph) if not _covered(d, found)]
    return _unique(found)


def check_spec(spec: Spec, limits: Limits = DEFAULT_LIMITS) -> list[Diagnostic]:
    """The static pass: every independent problem the builder would meet, found without expanding."""
    return _Checker(spec, limits).run()


# ------------------------------------------------------------------------------------------- helpers

def _errors(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity == "error"]


def _unique(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: dict[tuple, Diagnostic] = {}
    for d in diags:
        seen.setdefault((d.location, d.message, d.severity), d)
    return list(seen.values())


def _covered(diag: Diagnostic, found: list[Diagnostic]) -> bool:
    """Whether ``diag`` (from expansion) restates a problem already reported for the same spot."""
    loc = diag.location
    for other in found:
        if other.severity != "error" or other.location is None or loc is None or other.location.file != loc.file:
            continue
        if other.location.line == loc.line and loc.line is not None:
            return True
        a, b = diag.pointer or "", other.pointer or ""
        if a and b and (a == b or a.startswith(b + "/") or b.startswith(a + "/")):
            return True
    return False


def _inside(diag: Diagnostic, schema_problems: list[Diagnostic]) -> bool:
    """Whether a static finding lies in a value the schema already rejected (same file, same subtree)."""
    a = diag.pointer or ""
    for other in schema_problems:
        b = other.pointer or ""
        if b and other.location and diag.location and other.location.file == diag.location.file and (
                a == b or a.startswith(b + "/")):
            return True
    return False


def _chain_problems(path: Path, cache: SpecCache) -> list[Diagnostic]:
    """Schema problems of ``path`` and of every file it imports or extends, with a note where each is named."""
    out: list[Diagnostic] = []
    seen: set[Path] = set()

    def visit(file: Path, named_at: Diagnostic | None) -> None:
        key = file.resolve()
        if key in seen or key not in cache.docs:
            return
        seen.add(key)
        problems = cache.problems.get(key, [])
        out.extend(problems)
        if problems and named_at is not None:
            out.append(named_at)
        doc = cache.docs[key]
        refs: list[tuple[str, tuple]] = []
        imports = doc.data.get("imports")
        if isinstance(imports, list):
            refs += [(rel, ("imports", i)) for i, rel in enumerate(imports) if isinstance(rel, str)]
        if isinstance(doc.data.get("extends"), str):
            refs.append((doc.data["extends"], ("extends",)))
        for rel, at in refs:
            note = Diagnostic(f"'{rel}' (named by '{at[0]}' here) has errors", doc.where(at), json_pointer(at),
                              severity="note")
            visit(file.parent / rel, note)

    visit(path, None)
    return out


def _graph_checks(graph: Any) -> list[Diagnostic]:
    """What Keras would refuse in an expanded graph that the builder does not check itself."""
    out = []
    for nid in graph:
        node = graph.nodes[nid]
        name = node.get("name") or ""
        if "/" in name:
            out.append(Diagnostic(f"layer name '{name}' contains '/', which Keras does not allow", node["loc"],
                                  node["pointer"]))
    return out


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


# ------------------------------------------------------------------------------------------- the static pass

class _Checker:
    def __init__(self, spec: Spec, limits: Limits):
        self.spec = spec
        self.limits = limits
        self.diags: list[Diagnostic] = []
        data = spec.data
        self.templates = {k: v for k, v in _dict(data.get("templates")).items() if isinstance(v, dict)}
        self.defaults = _dict(data.get("defaults"))
        self.vars = _dict(data.get("vars"))
        self.constants = {**OPTION_DEFAULTS, "classes": 1000, **self.vars}
        self.global_names = frozenset(self.vars) | OPTION_NAMES
        # a library's templates may use vars of the networks that import it: names are checked there
        self.open_names = data.get("kind") == "library"
        self.all_params = frozenset(
            str(p) for t in self.templates.values()
            for p in [*_dict(t.get("params")), *_list(t.get("required"))] if isinstance(p, str)
        )

    def error(self, message: str, path: tuple, hint: str | None = None, key: bool = False) -> None:
        self.diags.append(Diagnostic(message, self.spec.where(path, key=key), json_pointer(path), hint))

    def scope(self, local: Iterable[str]) -> _Scope:
        local = frozenset(local)
        return _Scope(local | self.global_names, {k: v for k, v in self.constants.items() if k not in local})

    def run(self) -> list[Diagnostic]:
        self._vars()
        for name, template in self.templates.items():
            self._template(name, template)
        self._defaults()
        if self.spec.data.get("kind", "network") == "network":
            self._stages()
            self._head()
        return _unique(self.diags)

    # --------------------------------------------------------------------------------------- sections
    def _vars(self) -> None:
        for bad in sorted(set(self.vars) & {*INHERITED, *RESERVED, *SHAPE_VARS}):
            self.error(f"'{bad}' is a built-in name and cannot be a var", ("vars", bad), key=True)

    def _lenient(self) -> _Scope:
        """Names a template default or a network default might see: it depends on the call site."""
        return self.scope({*INHERITED, *SHAPE_VARS, *self.all_params})

    def _template(self, name: str, template: dict) -> None:
        path = ("templates", name)
        params = _dict(template.get("params"))
        required = [r for r in _list(template.get("required")) if isinstance(r, str)]
        for both in sorted(set(params) & set(required)):
            self.error(f"parameter '{both}' of template '{name}' is both required and has a default",
                       path + ("params", both), key=True)
        for pname, default in params.items():
            self._value(default, self._lenient(), path + ("params", pname))
        scope = self.scope({*params, *required, *INHERITED, *SHAPE_VARS})
        self._steps(template.get("body"), path + ("body",), scope, {"input"})

    def _defaults(self) -> None:
        for opname, attrs in self.defaults.items():
            opdef = OPS.get(opname)
            if opdef is None or not isinstance(attrs, dict):
                continue  # the schema reports these
            for key, raw in attrs.items():
                if key in opdef.attrs:
                    self._attr(opdef, key, raw, ("defaults", opname, key), self._lenient())

    def _stages(self) -> None:
        for key, stage in _dict(self.spec.data.get("stages")).items():
            if isinstance(stage, dict):
                self._stage(str(key), stage, ("stages", key))

    def _stage(self, key: str, stage: dict, path: tuple) -> None:
        has_block, has_body = "block" in stage, "body" in stage
        if has_block == has_body:
            self.error(f"stage '{key}' needs exactly one of 'block' (a template) or 'body' (inline steps)", path)
        outer = self.scope({"stage", *SHAPE_VARS})
        repeat = self._number(stage.get("repeat", 1), outer, path + ("repeat",), Attr("int"), "repeat")
        if repeat is not DYNAMIC:
            if repeat < 1:
                self.error(f"repeat must be at least 1, got {repeat}", path + ("repeat",))
            elif repeat > self.limits.repeat:
                self.error(f"repeat {repeat} exceeds the limit of {self.limits.repeat} (limit 'repeat')",
                           path + ("repeat",))
        known_repeat = repeat if repeat is not DYNAMIC and 1 <= repeat <= self.limits.repeat else None
        at = _dict(stage.get("at"))
        for which in at:
            index = _at_index(which)
            if index is not None and known_repeat is not None and not 1 <= abs(index) <= known_repeat:
                self.error(f"'at' index {which} is outside 1..{known_repeat}", path + ("at", which), key=True)
        if isinstance(stage.get("block_name"), str):
            self._name(stage["block_name"], self.scope({"stage", *SHAPE_VARS, *REPEAT_NAMES}),
                       path + ("block_name",))
        inner = self.scope({"stage", "block", *SHAPE_VARS, *REPEAT_NAMES})
        if has_body and not has_block:
            for extra in [k for k in stage if k not in STAGE_META]:
                self.error(f"unknown key '{extra}' in inline stage '{key}'", path + (extra,),
                           did_you_mean(extra, STAGE_META), key=True)
            self._steps(stage["body"], path + ("body",), inner, {"input"})
            return
        tname = stage.get("block")
        for k in [k for k in stage if k not in STAGE_META]:
            self._value(stage[k], inner, path + (k,))
        for which, values in at.items():
            for k, v in _dict(values).items():
                self._value(v, inner, path + ("at", which, k))
        if isinstance(tname, str) and has_block:
            if tname not in self.templates:
                self.error(f"unknown template '{tname}'", path + ("block",), *self._template_hint(tname))
            else:
                self._args(tname, stage, at, path, known_repeat)

    def _args(self, tname: str, stage: dict, at: dict, path: tuple, repeat: int | None) -> None:
        """Stage arguments against the template's parameters, including per-repeat 'at' overrides."""
        template = self.templates[tname]
        required = [r for r in _list(template.get("required")) if isinstance(r, str)]
        known = {*_dict(template.get("params")), *required}
        unknown = []
        for k in [k for k in stage if k not in STAGE_META]:
            if k not in known:
                unknown.append(k)
                self._unknown_param(k, tname, known, path + (k,))
        for which, values in at.items():
            for k in _dict(values):
                if k not in known:
                    unknown.append(k)
                    self._unknown_param(k, tname, known, path + ("at", which, k))
        for name in required:
            if name in stage or _mistyped(name, unknown):
                continue
            covered = _covered_repeats(at, name, repeat)
            if covered is not True:
                partly = any(isinstance(v, dict) and name in v for v in at.values())
                where = f" in repeat {covered}" if partly and isinstance(covered, int) else ""
                self.error(f"missing parameter '{name}' for template '{tname}'{where}", path)

    def _head(self) -> None:
        head = self.spec.data.get("head")
        for which, steps in _dict(head).items():
            if which in ("top", "avg", "max"):
                self._steps(steps, ("head", which), self.scope({*INHERITED, *SHAPE_VARS}), {"input"})

    # --------------------------------------------------------------------------------------- steps
    def _steps(self, steps: Any, path: tuple, scope: _Scope, values: set[str]) -> None:
        for k, step in enumerate(_list(steps)):
            if isinstance(step, dict):
                self._step(step, path + (k,), scope, values)

    def _step(self, step: dict, path: tuple, scope: _Scope, values: set[str]) -> None:
        self._refs(step, "in", path, values)
        if "else" in step and "else" in STEP_META:
            if "if" not in step:
                self.error("'else' needs an 'if'", path + ("else",), key=True)
            self._refs(step, "else", path, values)
        if "if" in step:
            self._number(step["if"], scope, path + ("if",), None, "if")
        if "use" in step:
            self._call(step, path, scope)
        elif "op" in step:
            self._op(step, path, scope, values)
        name = step.get("as")
        if name in RESERVED:
            self.error(f"'{name}' is reserved and cannot be bound with 'as'", path + ("as",))
        elif isinstance(name, str):
            values.add(name)

    def _refs(self, step: dict, key: str, path: tuple, values: set[str]) -> None:
        refs = step.get(key, "prev")
        many = isinstance(refs, list)
        for j, ref in enumerate(refs if many else [refs]):
            if not isinstance(ref, str) or ref == "prev" or ref in values:
                continue
            known = [*RESERVED, *sorted(v for v in values if v not in RESERVED)]
            self.error(f"unknown value '{ref}' in '{key}'", path + ((key, j) if many else (key,)),
                       did_you_mean(ref, known) or f"known here: {', '.join(known)}")

    def _call(self, step: dict, path: tuple, scope: _Scope) -> None:
        tname = step["use"]
        args = [k for k in step if k not in CALL_META]
        for k in args:
            self._value(step[k], scope, path + (k,))
        if not isinstance(tname, str):
            return
        if tname not in self.templates:
            self.error(f"unknown template '{tname}'", path + ("use",), *self._template_hint(tname))
            return
        template = self.templates[tname]
        required = [r for r in _list(template.get("required")) if isinstance(r, str)]
        known = {*_dict(template.get("params")), *required}
        unknown = [k for k in args if k not in known]
        for k in unknown:
            self._unknown_param(k, tname, known, path + (k,))
        for name in required:
            if name not in step and not _mistyped(name, unknown):
                self.error(f"missing parameter '{name}' for template '{tname}'", path)

    def _op(self, step: dict, path: tuple, scope: _Scope, values: set[str]) -> None:
        opname = step["op"]
        opdef = OPS.get(opname) if isinstance(opname, str) else None
        if opdef is None:
            self.error(f"unknown op '{opname}'", path + ("op",),
                       did_you_mean(str(opname), OPS) or f"ops: {', '.join(sorted(OPS))}")
            return
        if "branches" in step:
            branches = _list(step["branches"])
            for b, branch in enumerate(branches):
                self._steps(branch, path + ("branches", b), scope, values)
            n = len(branches)
        else:
            refs = step.get("in", "prev")
            n = len(refs) if isinstance(refs, list) else 1
        if n < opdef.min_inputs or (opdef.max_inputs is not None and n > opdef.max_inputs):
            want = (f"{opdef.min_inputs}" if opdef.max_inputs == opdef.min_inputs else
                    f"at least {opdef.min_inputs}" if opdef.max_inputs is None else
                    f"{opdef.min_inputs} to {opdef.max_inputs}")
            self.error(f"op '{opname}' takes {want} input(s), got {n}", path)
        unknown = [k for k in step if k not in STEP_META and k not in opdef.attrs]
        for k in unknown:
            self.error(f"unknown attribute '{k}' for op '{opname}'", path + (k,),
                       did_you_mean(k, opdef.attrs) or f"attributes: {', '.join(opdef.attrs) or 'none'}", key=True)
        defaults = _dict(self.defaults.get(opname))
        for key, attr in opdef.attrs.items():
            if key in step:
                self._attr(opdef, key, step[key], path + (key,), scope)
            elif attr.required and key not in defaults and not _mistyped(key, unknown):
                self.error(f"op '{opname}' needs attribute '{key}'", path)
        if isinstance(step.get("name"), str):
            self._name(step["name"], scope, path + ("name",))

    def _attr(self, opdef: OpDef, key: str, raw: Any, path: tuple, scope: _Scope) -> None:
        self._number(raw, scope, path, opdef.attrs[key], f"{opdef.name}.{key}")

    # --------------------------------------------------------------------------------------- values
    def _number(self, raw: Any, scope: _Scope, path: tuple, attr: Attr | None, label: str) -> Any:
        """Check a value of known kind; returns the literal (coerced) value, or DYNAMIC."""
        numeric = attr is None or attr.kind in NUMERIC_KINDS
        value = self._value(raw, scope, path, numeric)
        if value is DYNAMIC or attr is None:
            return value
        try:
            out = coerce(attr, value)
        except ValueError as exc:
            hint = None
            if attr.kind == "activation" and isinstance(value, str):
                hint = did_you_mean(value, [*ACTIVATIONS, *scope.names])
            elif attr.kind == "choice" and isinstance(value, str):
                hint = did_you_mean(value, [*attr.choices, *scope.names])
            elif isinstance(value, str):
                hint = did_you_mean(value, scope.names)
            self.error(f"{label}: {exc}", path, hint)
            return DYNAMIC
        if any(isinstance(x, int) and x.bit_length() > self.limits.int_bits for x in _flat(out)):
            self.error(f"{label} is too large (more than {self.limits.int_bits} bits; limit 'int_bits')", path)
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
                self.error(f"unknown name '{text}'", path, did_you_mean(text, scope.names))
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
            self.error(f"unknown name '{name}'", path, did_you_mean(name, scope.names))
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

    def _name(self, template: str, scope: _Scope, path: tuple) -> Any:
        """Check each ``{expr}`` field of a name template (the rules of ``format_template``)."""
        i, n, fields = 0, len(template), 0
        while i < n:
            if template.startswith(("{{", "}}"), i):
                i += 2
            elif template[i] == "{":
                end = template.find("}", i)
                if end < 0:
                    self.error(f"unclosed '{{' in name template {template!r}", path)
                    return DYNAMIC
                fields += 1
                self._expression(template[i + 1:end], scope, path)
                i = end + 1
            elif template[i] == "}":
                self.error(f"single '}}' in name template {template!r} (write '}}}}')", path)
                return DYNAMIC
            else:
                i += 1
        return DYNAMIC if fields else template.replace("{{", "{").replace("}}", "}")

    # --------------------------------------------------------------------------------------- hints
    def _unknown_param(self, name: str, tname: str, known: set, path: tuple) -> None:
        self.error(f"unknown parameter '{name}' for template '{tname}'", path,
                   did_you_mean(name, [*known, *STAGE_META, *CALL_META]) or
                   (f"parameters: {', '.join(sorted(known))}" if known else "it takes no parameters"), key=True)

    def _template_hint(self, name: str) -> tuple[str]:
        return (did_you_mean(name, self.templates) or
                "templates: " + (", ".join(sorted(self.templates)) or "none defined (missing 'imports'?)"),)


def _at_index(which: Any) -> int | None:
    if which in ("first", "last"):
        return None
    try:
        return int(which)
    except (TypeError, ValueError):
        return None


def _covered_repeats(at: dict, name: str, repeat: int | None) -> bool | int:
    """True when 'at' overrides supply ``name`` for every repeat; else the first repeat lacking it."""
    hits = {which for which, values in at.items() if isinstance(values, dict) and name in values}
    if repeat is None:
        return True if hits else 1  # unknown count: trust any override, the builder checks the rest
    for i in range(1, repeat + 1):
        if not any(at_selects(w, i, repeat) for w in hits):
            return i
    return True


def _mistyped(name: str, unknown: list[str]) -> bool:
    """A missing name that one of the unknown keys is a typo of is reported once, as the typo."""
    return any(did_you_mean(k, [name]) for k in unknown)


def _flat(value: Any) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


def _divides_by_zero(text: str, limits: Limits) -> bool:
    """``x / 0``, ``x // 0`` or ``x % 0`` with a literal zero, whatever ``x`` is."""
    tree = parse(text, limits.expression_chars, limits.expression_depth)
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Div, ast.FloorDiv, ast.Mod))
               and isinstance(n.right, ast.Constant) and n.right.value == 0 and not isinstance(n.right.value, bool)
               for n in ast.walk(tree))

"""Expand a merged spec into a ``networkx.DiGraph`` of layers, with shapes, params and locations.

Nodes are integers in creation order (the order Keras layers are created in); each carries ``op``,
``name``, ``attrs``, ``inputs`` (ordered: merge order is significant), ``shape``, ``params``,
``trainable``, ``macs``, ``loc`` (spec file/line/col), ``stage`` and ``block``. Edges mirror
``inputs`` and carry the input position as ``port``.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterator

from archspec.errors import Diagnostic, SpecError, did_you_mean
from archspec.ops import NUMERIC_KINDS, OPS, Attr, OpDef, ShapeError, coerce, fmt_shape
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.lang.compose import Spec
from archspec.lang.expressions import ExpressionError, format_template, resolve
from archspec.lang.yaml_loader import json_pointer

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

STEP_META = ("op", "use", "name", "in", "as", "if", "else", "branches", "doc")
CALL_META = ("use", "in", "as", "if", "else", "doc")
STAGE_META = ("block", "body", "repeat", "block_name", "at", "doc")
RESERVED = ("input", "prev")
INHERITED = ("i", "repeat", "stage", "block", "letter", "first", "last")  # visible inside nested templates


@dataclass(frozen=True)
class BuildOptions:
    """keras.applications-style options; they are expression variables too (``classes``, ...)."""

    include_top: bool = True
    pooling: str | None = None
    classes: int | None = None
    classifier_activation: str | None = "softmax"
    input_shape: tuple | None = None

    def __post_init__(self) -> None:
        if self.pooling not in (None, "avg", "max"):
            raise ValueError(f"pooling must be None, 'avg' or 'max', got {self.pooling!r}")
        if self.classes is not None and (isinstance(self.classes, bool) or int(self.classes) < 1):
            raise ValueError(f"classes must be a positive integer, got {self.classes!r}")
        if self.input_shape is not None and len(self.input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {self.input_shape!r}")


@dataclass
class _Frame:
    """One template expansion: its scope, its symbolic values and the running 'prev'."""

    scope: dict[str, Any]
    values: dict[str, int]
    prev: int
    stage: str
    block: str
    depth: int = 0


def at_selects(which: str, i: int, repeat: int) -> bool:
    """Whether the ``at`` key ``which`` (``first``, ``last``, ``N`` or ``-N``) names repeat ``i`` of ``repeat``."""
    if which == "first":
        return i == 1
    if which == "last":
        return i == repeat
    try:
        index = int(which)
    except (TypeError, ValueError):
        return False
    return index == i or repeat + 1 + index == i


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: expansion allocates tens of thousands of acyclic dicts and
    lists that GC passes would traverse again and again for nothing (a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def expand(spec: Spec, options: BuildOptions | None = None, limits: Limits = DEFAULT_LIMITS) -> nx.DiGraph:
    """Expand ``spec`` into its layer graph (pure Python; raises :class:`SpecError`)."""
    with _gc_paused():
        return _Builder(spec, options or BuildOptions(), limits).run().to_networkx()


def expand_heads(spec: Spec, options: list[BuildOptions], limits: Limits = DEFAULT_LIMITS) -> Iterator["Graph"]:
    """``expand(spec, o)`` for each ``o`` in turn, as :class:`Graph` (``.to_networkx()`` for the DiGraph),
    expanding the stages only once when that cannot change the result: the options differ only in
    ``include_top``/``pooling`` and nothing outside ``head`` names either. Validation checks every head
    a spec declares, so this saves two expansions of three.
    """
    if len(options) < 2 or not _body_shared(spec, options):
        for opts in options:
            with _gc_paused():
                graph = _Builder(spec, opts, limits).run()
            yield graph
        return
    with _gc_paused():
        base = _Builder(spec, options[0], limits)
        prev = base._body()
    for k, opts in enumerate(options):
        with _gc_paused():
            graph = base._fork(opts, last=k == len(options) - 1)._finish(prev)
        yield graph


_HEAD_OPTIONS = re.compile(r"\b(include_top|pooling)\b")


def _body_shared(spec: Spec, options: list[BuildOptions]) -> bool:
    first = options[0]
    if any(replace(o, include_top=first.include_top, pooling=first.pooling) != first for o in options):
        return False
    stack = [spec.data.get(k) for k in ("input", "vars", "defaults", "templates", "stages")]
    while stack:  # every key and value that expressions or names could come from ('doc' is prose)
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(x for k, v in value.items() if k != "doc" for x in (k, v))
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and _HEAD_OPTIONS.search(value):
            return False
    return True


class Graph:
    """The few ``networkx.DiGraph`` operations expansion needs, on plain lists (node id = index).

    Validation never converts it, so ``archspec validate`` does not import networkx (a fifth of its
    run time); :func:`expand` converts once at the end, adding nodes and edges in creation order.
    """

    def __init__(self) -> None:
        self.graph: dict[str, Any] = {}
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[tuple[int, int, dict[str, Any]]] = []

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.nodes)))

    def number_of_nodes(self) -> int:
        return len(self.nodes)

    def add_node(self, nid: int, **attrs: Any) -> None:
        assert nid == len(self.nodes), "node ids are creation order"
        self.nodes.append(attrs)

    def add_edge(self, src: int, dst: int, **attrs: Any) -> None:
        self.edges.append((src, dst, attrs))

    def copy(self) -> "Graph":
        other = Graph()
        other.graph = dict(self.graph)
        other.nodes = [dict(d) for d in self.nodes]
        other.edges = list(self.edges)  # edge data is never changed after creation
        return other

    def to_networkx(self) -> "nx.DiGraph":
        import networkx as nx

        g = nx.DiGraph()
        g.graph.update(self.graph)
        g.add_nodes_from(enumerate(self.nodes))
        g.add_edges_from(self.edges)
        return g


class _Builder:
    def __init__(self, spec: Spec, options: BuildOptions, limits: Limits):
        self.spec = spec
        self.options = options
        self.limits = limits
        self.g = Graph()
        self.templates: dict[str, Any] = spec.data.get("templates", {})
        self.defaults: dict[str, dict] = spec.data.get("defaults", {})
        self.explicit: dict[str, int] = {}
        self.auto: list[int] = []
        self.located: dict[tuple, tuple] = {}  # path -> (loc, pointer); a template's steps recur per block
        self.work = 0  # steps and repeats expanded, bounded by limits.steps (empty templates make no layers)

    # ------------------------------------------------------------------------------------ errors
    def error(self, message: str, path: tuple, hint: str | None = None, key: bool = False) -> SpecError:
        return SpecError(Diagnostic(message, self.spec.where(path, key=key), json_pointer(path), hint))

    # ------------------------------------------------------------------------------------ driver
    def run(self) -> Graph:
        return self._finish(self._body())

    def _body(self) -> int:
        data = self.spec.data
        shape = tuple(self.options.input_shape or data["input"])
        global_scope = self.global_scope = self._global_scope()
        inp = self._add_node("input", {}, [], shape, None, ("input",), "input", "input")
        self.g.graph.update(name=self.spec.name, input=inp, input_shape=shape,
                            preprocessing=data.get("preprocessing", "none"), file=self.spec.file)
        prev = inp
        for key, stage in data["stages"].items():
            prev = self._stage(key, stage, ("stages", key), prev, global_scope)
        return prev

    def _fork(self, options: BuildOptions, last: bool = False) -> "_Builder":
        """This builder after the stages, as if built with ``options`` (see :func:`expand_heads`); the
        ``last`` fork takes this builder's graph over instead of copying it."""
        other = copy.copy(self)
        other.options = options
        if not last:
            other.g = self.g.copy()  # node attribute dicts are copied: auto-naming must not leak between heads
            other.explicit, other.auto = dict(self.explicit), list(self.auto)
        other.global_scope = other._global_scope()
        return other

    def _finish(self, prev: int) -> Graph:
        prev = self._head(prev, self.global_scope)
        self.g.graph["output"] = prev
        self._assign_auto_names()
        self._check_all_used(prev)
        return self.g

    def _check_all_used(self, output: int) -> None:
        """A layer that does not feed the output would be dropped by Keras and shift by-order loading."""
        used, stack = {output}, [output]
        while stack:
            for src in self.g.nodes[stack.pop()]["inputs"]:
                if src not in used:
                    used.add(src)
                    stack.append(src)
        dead = [n for n in self.g if n not in used]
        if dead:
            node = self.g.nodes[dead[0]]
            more = f" ({len(dead) - 1} more)" if len(dead) > 1 else ""
            raise SpecError(Diagnostic(f"layer '{node['name']}' does not contribute to the output{more}",
                                       node["loc"], node["pointer"], "bind it with 'as' and use it, or remove it"))

    def _global_scope(self) -> dict[str, Any]:
        vars_ = dict(self.spec.data.get("vars", {}))
        for bad in sorted(set(vars_) & {*INHERITED, *RESERVED, "in_channels", "in_height", "in_width"}):
            raise self.error(f"'{bad}' is a built-in name and cannot be a var", ("vars", bad), key=True)
        opts = self.options
        vars_.setdefault("classes", 1000)
        if opts.classes is not None:
            vars_["classes"] = int(opts.classes)
        vars_.update(include_top=opts.include_top, pooling=opts.pooling,
                     classifier_activation=opts.classifier_activation)
        return vars_

    # ------------------------------------------------------------------------------------ stages
    def _stage(self, key: str, stage: dict, path: tuple, prev: int, global_scope: dict) -> int:
        if ("block" in stage) == ("body" in stage):
            raise self.error(f"stage '{key}' needs exactly one of 'block' (a template) or 'body' (inline steps)",
                             path)
        stage_scope = {**global_scope, "stage": key, **self._shape_vars(prev)}
        repeat = self._value(stage.get("repeat", 1), stage_scope, path + ("repeat",), "int")
        if repeat < 1:
            raise self.error(f"repeat must be at least 1, got {repeat}", path + ("repeat",))
        if repeat > self.limits.repeat:
            raise self.error(f"repeat {repeat} exceeds the limit of {self.limits.repeat} (limit 'repeat')",
                             path + ("repeat",))
        if "body" in stage:
            extra = [k for k in stage if k not in STAGE_META]
            if extra:
                raise self.error(f"unknown key '{extra[0]}' in inline stage '{key}'", path + (extra[0],),
                                 did_you_mean(extra[0], STAGE_META), key=True)
            body, body_path, template = stage["body"], path + ("body",), None
        else:
            name = stage["block"]
            if name not in self.templates:
                raise self.error(f"unknown template '{name}'", path + ("block",),
                                 did_you_mean(name, self.templates) or self._known_templates())
            template = self.templates[name]
            body, body_path = template["body"], ("templates", name, "body")
        at = stage.get("at", {})
        for which in at:
            if which not in ("first", "last") and not (1 <= abs(int(which)) <= repeat):
                raise self.error(f"'at' index {which} is outside 1..{repeat}", path + ("at", which), key=True)
        block_name = stage.get("block_name", "{stage}_block{i}")
        for i in range(1, repeat + 1):
            self._count_work(path)
            scope = {**stage_scope, "i": i, "repeat": repeat, "first": i == 1, "last": i == repeat,
                     "letter": _letter(i), **self._shape_vars(prev)}
            try:
                block = format_template(block_name, scope, self.limits)
            except ExpressionError as exc:
                raise self.error(str(exc), path + ("block_name",), exc.hint) from None
            scope["block"] = block
            if template is not None:
                args = self._stage_args(stage, at, i, repeat, path)
                scope.update(self._bind_params(template, stage["block"], args, scope, path))
            frame = _Frame(scope=scope, values={"input": prev}, prev=prev, stage=key, block=block or key)
            self._steps(body, body_path, frame)
            prev = frame.prev
        return prev

    def _stage_args(self, stage: dict, at: dict, i: int, repeat: int, path: tuple) -> dict[str, tuple[Any, tuple]]:
        """Stage parameters for repeat ``i``: stage values, then 'at' overrides (first, last, index)."""
        args = {k: (v, path + (k,)) for k, v in stage.items() if k not in STAGE_META}
        for which, values in at.items():
            if at_selects(which, i, repeat):
                args.update({k: (v, path + ("at", which, k)) for k, v in values.items()})
        return args

    def _bind_params(self, template: dict, tname: str, args: dict[str, tuple[Any, tuple]], scope: dict,
                     call_path: tuple) -> dict[str, Any]:
        """Template parameters: declared defaults overridden by call arguments evaluated in ``scope``."""
        params = template.get("params", {})
        required = template.get("required", [])
        known = set(params) | set(required)
        bound: dict[str, Any] = {}
        for name, (raw, path) in args.items():
            if name not in known:
                raise self.error(
                    f"unknown parameter '{name}' for template '{tname}'", path,
                    did_you_mean(name, [*known, *STAGE_META, *CALL_META]) or
                    (f"parameters: {', '.join(sorted(known))}" if known else "it takes no parameters"), key=True)
            bound[name] = self._value(raw, scope, path)
        for name in required:
            if name not in bound:
                raise self.error(f"missing parameter '{name}' for template '{tname}'", call_path)
        for name, default in params.items():
            if name not in bound:
                bound[name] = self._value(default, {**scope, **bound}, ("templates", tname, "params", name))
        return bound

    def _head(self, prev: int, global_scope: dict) -> int:
        head = self.spec.data.get("head")
        opts = self.options
        which = "top" if opts.include_top else opts.pooling
        if which is None or head is None:  # a spec without a head is a feature extractor
            return prev
        if which not in head:
            raise self.error(f"this spec has no head for {'include_top' if which == 'top' else 'pooling=' + which}",
                             ("head",))
        scope = {**global_scope, "stage": "head", "block": "head", "i": 1, "repeat": 1, "first": True,
                 "last": True, "letter": "a"}
        frame = _Frame(scope=scope, values={"input": prev}, prev=prev, stage="head", block="head")
        self._steps(head[which], ("head", which), frame)
        return frame.prev

    # ------------------------------------------------------------------------------------ steps
    def _steps(self, steps: list, path: tuple, frame: _Frame) -> None:
        for k, step in enumerate(steps):
            self._step(step, path + (k,), frame)

    def _step(self, step: dict, path: tuple, frame: _Frame) -> None:
        self._count_work(path)
        inputs = self._inputs(step, path, frame)
        scope = {**frame.scope, **self._shape_vars(inputs[0])}
        if "else" in step and "if" not in step:
            raise self.error("'else' needs an 'if'", path + ("else",), key=True)
        if "if" in step:
            cond = self._value(step["if"], scope, path + ("if",), "cond")
            if not cond:  # a skipped step yields its input, or the value named by 'else'
                otherwise = self._inputs(step, path, frame, "else")[0] if "else" in step else inputs[0]
                self._bind(step, path, frame, otherwise)
                return
        if "use" in step:
            out = self._call(step, path, frame, inputs[0], scope)
        else:
            out = self._op(step, path, frame, inputs, scope)
        self._bind(step, path, frame, out)

    def _bind(self, step: dict, path: tuple, frame: _Frame, node: int) -> None:
        frame.prev = node
        if "as" in step:
            name = step["as"]
            if name in RESERVED:
                raise self.error(f"'{name}' is reserved and cannot be bound with 'as'", path + ("as",))
            frame.values[name] = node

    def _inputs(self, step: dict, path: tuple, frame: _Frame, key: str = "in") -> list[int]:
        refs = step.get(key, "prev")
        many = isinstance(refs, list)
        out = []
        for j, ref in enumerate(refs if many else [refs]):
            if ref == "prev":
                out.append(frame.prev)
            elif ref in frame.values:
                out.append(frame.values[ref])
            else:
                known = [*RESERVED, *(v for v in frame.values if v not in RESERVED)]
                raise self.error(f"unknown value '{ref}' in '{key}'", path + ((key, j) if many else (key,)),
                                 did_you_mean(ref, known) or f"known here: {', '.join(known)}")
        return out

    def _call(self, step: dict, path: tuple, frame: _Frame, inp: int, scope: dict) -> int:
        name = step["use"]
        if name not in self.templates:
            raise self.error(f"unknown template '{name}'", path + ("use",),
                             did_you_mean(name, self.templates) or self._known_templates())
        if frame.depth + 1 > self.limits.template_depth:
            raise self.error(f"templates nested deeper than {self.limits.template_depth} "
                             "(recursive template?) (limit 'template_depth')", path + ("use",))
        template = self.templates[name]
        args = {k: (v, path + (k,)) for k, v in step.items() if k not in CALL_META}
        inherited = {k: v for k, v in frame.scope.items() if k in INHERITED or k in self.global_scope}
        params = self._bind_params(template, name, args, scope, path)
        inner = _Frame(scope={**inherited, **params}, values={"input": inp}, prev=inp,
                       stage=frame.stage, block=frame.block, depth=frame.depth + 1)
        self._steps(template["body"], ("templates", name, "body"), inner)
        return inner.prev

    def _op(self, step: dict, path: tuple, frame: _Frame, inputs: list[int], scope: dict) -> int:
        opname = step["op"]
        opdef = OPS.get(opname)
        if opdef is None:
            raise self.error(f"unknown op '{opname}'", path + ("op",), did_you_mean(opname, OPS))
        if "branches" in step:
            outs = []
            for b, branch in enumerate(step["branches"]):
                sub = _Frame(scope=frame.scope, values=frame.values, prev=inputs[0], stage=frame.stage,
                             block=frame.block, depth=frame.depth)
                self._steps(branch, path + ("branches", b), sub)
                outs.append(sub.prev)
            inputs = outs
        n = len(inputs)
        if n < opdef.min_inputs or (opdef.max_inputs is not None and n > opdef.max_inputs):
            want = (f"{opdef.min_inputs}" if opdef.max_inputs == opdef.min_inputs else
                    f"at least {opdef.min_inputs}" if opdef.max_inputs is None else
                    f"{opdef.min_inputs} to {opdef.max_inputs}")
            raise self.error(f"op '{opname}' takes {want} input(s), got {n}", path)
        attrs = self._attrs(opdef, step, path, scope)
        shapes = [self.g.nodes[i]["shape"] for i in inputs]
        try:
            shape = opdef.shape(attrs, shapes)
        except ShapeError as exc:
            names = ", ".join(f"'{self.g.nodes[i]['name'] or self.g.nodes[i]['op']}' {fmt_shape(s)}"
                              for i, s in zip(inputs, shapes))
            raise self.error(f"{exc} (inputs: {names})", path) from None
        name = None
        if step.get("name") is not None:
            try:
                name = format_template(str(step["name"]), scope, self.limits)
            except ExpressionError as exc:
                raise self.error(str(exc), path + ("name",), exc.hint) from None
        return self._add_node(opname, attrs, inputs, shape, name, path, frame.stage, frame.block, opdef)

    def _attrs(self, opdef: OpDef, step: dict, path: tuple, scope: dict) -> dict[str, Any]:
        for key in step:
            if key not in STEP_META and key not in opdef.attrs:
                raise self.error(f"unknown attribute '{key}' for op '{opdef.name}'", path + (key,),
                                 did_you_mean(key, opdef.attrs) or f"attributes: {', '.join(opdef.attrs)}",
                                 key=True)
        defaults = self.defaults.get(opdef.name, {})
        attrs = {}
        for key, attr in opdef.attrs.items():
            if key in step:
                raw, where = step[key], path + (key,)
            elif key in defaults:
                raw, where = defaults[key], ("defaults", opdef.name, key)
            elif attr.required:
                raise self.error(f"op '{opdef.name}' needs attribute '{key}'", path)
            else:
                attrs[key] = attr.default
                continue
            value = self._value(raw, scope, where, "numeric" if attr.kind in NUMERIC_KINDS else None)
            try:
                attrs[key] = coerce(attr, value)
            except ValueError as exc:
                raise self.error(f"{opdef.name}.{key} {exc}", where) from None
        return attrs

    def _value(self, raw: Any, scope: dict, path: tuple, kind: str | None = None) -> Any:
        try:
            value = resolve(raw, scope, self.limits, numeric=kind is not None)
        except ExpressionError as exc:
            raise self.error(str(exc), path, exc.hint) from None
        if kind == "int":
            try:
                return coerce(Attr("int"), value)
            except ValueError as exc:
                raise self.error(f"{path[-1]} {exc}", path) from None
        return value

    def _count_work(self, path: tuple) -> None:
        self.work += 1
        if self.work > self.limits.steps:
            raise self.error(f"expansion takes more than {self.limits.steps} steps (limit 'steps')", path)

    # ------------------------------------------------------------------------------------ nodes
    def _shape_vars(self, node: int) -> dict[str, Any]:
        shape = self.g.nodes[node]["shape"]
        if len(shape) == 3:
            return {"in_height": shape[0], "in_width": shape[1], "in_channels": shape[2]}
        return {"in_height": None, "in_width": None, "in_channels": shape[-1]}

    def _add_node(self, op: str, attrs: dict, inputs: list[int], shape: tuple, name: str | None, path: tuple,
                  stage: str, block: str, opdef: OpDef | None = None) -> int:
        nid = self.g.number_of_nodes()
        if nid >= self.limits.layers:
            raise self.error(f"the network expands to more than {self.limits.layers} layers (limit 'layers')", path)
        if opdef is not None:
            shapes = [self.g.nodes[i]["shape"] for i in inputs]
            weights = opdef.weights(attrs, shapes)
            macs = opdef.macs(attrs, shapes, shape)
        else:
            weights, macs = [], 0
        if path not in self.located:
            self.located[path] = (self.spec.where(path), json_pointer(path))
        loc, pointer = self.located[path]
        if name is not None:
            if name in self.explicit:
                first = self.g.nodes[self.explicit[name]]["loc"]
                raise self.error(f"duplicate layer name '{name}' (first made at {first})", path + ("name",))
            self.explicit[name] = nid
        else:
            self.auto.append(nid)
        self.g.add_node(nid, op=op, name=name, attrs=attrs, inputs=list(inputs), shape=shape, weights=weights,
                        params=sum(w.size for w in weights), trainable=sum(w.size for w in weights if w.trainable),
                        macs=macs, loc=loc,
                        pointer=pointer, stage=stage, block=block)
        for port, src in enumerate(inputs):
            self.g.add_edge(src, nid, port=port)
        return nid

    def _assign_auto_names(self) -> None:
        """Keras-style names (``conv2d``, ``conv2d_1``, ...) in creation order, skipping explicit names.

        Counters live in the build, not the process, so the same spec always gets the same names.
        """
        counters: dict[str, int] = {}
        for nid in self.auto:
            node = self.g.nodes[nid]
            prefix = "input_layer" if node["op"] == "input" else OPS[node["op"]].auto_prefix
            n = counters.get(prefix, 0)
            while (candidate := prefix if n == 0 else f"{prefix}_{n}") in self.explicit:
                n += 1
            counters[prefix] = n + 1
            node["name"] = candidate
            node["auto_named"] = True

    def _known_templates(self) -> str:
        return "templates: " + (", ".join(sorted(self.templates)) or "none defined")


def _letter(i: int) -> str:
    """1 -> 'a', 26 -> 'z', 27 -> 'aa' (the 'res2a_branch2a' naming of the original ResNet files)."""
    out = ""
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = chr(ord("a") + r) + out
    return out


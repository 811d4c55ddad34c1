"""Why a rule failed during expansion: where the failing value and the shapes it met came from.

Worked out only when a rule fails (expansion keeps no origin on its values, so it costs nothing until
then), from what the builder keeps anyway: the template calls being expanded, and for each layer the step
and the calls that made it. A diagnostic inside a library is reported at the user's own call site, with
notes down the chain of calls, then where (in the libraries) the values it was computed from were
written: arguments, parameter defaults, vars. For a rule on shapes, the notes also name the layers
upstream that set the axes concerned and the attributes of theirs that did (found by trying a nearby
value of each), so a padding typed a step before the 'valid' convolution that shrinks a branch, or a
channel count computed in a default many layers upstream, is named where it was typed (issue 26).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterator

from archspec.errors import Diagnostic, Location
from archspec.graph.ir import Graph, Layer
from archspec.lang.compose import Spec
from archspec.lang.expressions import ExpressionError, names_in, template_fields
from archspec.lang.rules import CALL_META, INHERITED, SHAPE_VARS
from archspec.lang.yaml_loader import json_pointer
from archspec.ops import OPS, Attr, OpDef, ShapeError, fmt_shape

Call = tuple[tuple, str, dict]  # a template call being expanded: (its path, the template, {param: (raw, path)})
Made = tuple[tuple, tuple]  # what made a layer: (the path of its step, the calls being expanded then)


class Explainer:
    """The notes of one failure, read from the spec, the graph so far and what made each layer."""

    def __init__(self, spec: Spec, graph: Graph, made: list[Made], skipped: list[tuple[tuple, tuple, int]] = ()):
        self.spec, self.g, self.made, self.skipped = spec, graph, made, skipped
        self.templates: dict[str, Any] = spec.data.get("templates", {})

    def explain(self, found: Diagnostic, where: tuple, calls: tuple[Call, ...], inputs: list[int] = (),
                dims: tuple[int, ...] | None = None, step: tuple[OpDef, dict] | None = None,
                weights: bool = False, earlier: int | None = None) -> list[Diagnostic]:
        """``found`` (the problem at ``where``, inside ``calls``) with its context. ``inputs``, ``dims``: the
        layers and axes a rule on shapes is about; ``step``: the op and attributes of the step whose shape
        rule failed, or (``weights``) whose weights went over a limit: only the attributes that decide
        that are traced then; ``earlier``: the layer whose name the failing step's repeats."""
        sources, notes = None, []
        if earlier is not None:
            notes = self._earlier(earlier, calls)
        if step is not None and inputs:
            opdef, attrs = step
            shapes = [self.g.layers[i].shape for i in inputs]
            decides = (lambda a: _weights(opdef, a, shapes)) if weights else (lambda a: _outcome(opdef, a, shapes))
            base = decides(attrs)
            keys = relevant_attrs(opdef, attrs, lambda a: decides(a) != base)
            written = self._written_attrs(opdef, where, keys)
            if written:
                sources = self._sources([p for _, p in written], calls)
                notes += [self._attr_note(key, p, None) for key, p in written
                          if self.spec.where(p).line != found.location.line]
            if dims is None:  # of one input, the rule may be about none of its axes (a noise shape)
                dims = failing_axes(opdef, attrs, shapes) or (None if len(inputs) > 1 else ())
        if sources is None:
            sources = self._sources([where], calls)
        return self._in_context(found, calls, sources, [*notes, *self._shaped_by(inputs, dims, where)])

    def _earlier(self, nid: int, calls: tuple[Call, ...]) -> list[Diagnostic]:
        """Where an earlier layer of the same name came from: the calls that made it that the failing step is
        not inside, and where the values its name reads are written."""
        path, made_in = self.made[nid]
        name = self.g.layers[nid].name
        notes = [Diagnostic(f"the first '{name}' is made in template '{tname}', called here{_written(args)}",
                            self.spec.where(at), json_pointer(at), severity="note")
                 for at, tname, args in made_in if (at, tname, args) not in calls]
        return notes + self._value_notes(self._sources([path + ("name",)], made_in), 4)

    def dead(self, found: Diagnostic, nid: int) -> list[Diagnostic]:
        """A layer that feeds nothing, with the calls that made it (the line that made it run may be a
        call's condition, many calls up)."""
        return self._in_context(found, self.made[nid][1], [])

    # ------------------------------------------------------------------------------------ calls
    def _in_context(self, found: Diagnostic, calls: tuple[Call, ...], sources: list[tuple[str, tuple]],
                    shaped: list[Diagnostic] = ()) -> list[Diagnostic]:
        """A problem inside a template from another file (a library) is reported at the user's own call
        site, the value written there in the notes, then each template call down to the line that failed
        (a compiler's "in instantiation of ... required from here"), then where in other files the values
        it was computed from were written (``sources``, see :meth:`_sources`), then the notes on shapes."""
        own = self.spec.file
        head = [found]
        if calls and found.location is not None and found.location.file != own:
            traced = {src for _, src in sources}
            sites = [(self._site(path, args, traced), name, args) for path, name, args in calls]
            user = next((site for site, _, _ in sites if site[0].file == own), None)
            if user is not None:
                first = Diagnostic(found.message, user[0], user[1], found.hint, origin=found.location)
                head = [first, *(Diagnostic(f"in template '{name}', called here{_written(args)}", loc, pointer,
                                            severity="note") for (loc, pointer), name, args in sites),
                        Diagnostic(f"the step of template '{sites[-1][1]}' that failed", found.location,
                                   found.pointer, severity="note")]
        shown = {(d.location.file, d.location.line) for d in head[1:] if d.location}
        fresh = [(name, src) for name, src in sources if (self.spec.where(src).file, self.spec.where(src).line)
                 not in shown]
        rest = [*self._value_notes(fresh),
                *(d for d in shaped if d.location != found.location or _WRITTEN in d.message)]
        out = list(head)
        for d in rest:  # where a value is written says nothing a note on its line did not; a shape's note does
            key = (d.location.file, d.location.line) if _WRITTEN in d.message else d
            if key not in shown:
                shown.add(key)
                out.append(d)
        return out

    def _site(self, path: tuple, args: dict, traced: set[tuple]) -> tuple[Location, str]:
        """Where a call is written: the argument the failing value was computed from, else the call itself."""
        for arg_path in [a for _, a in args.values() if a in traced] + [path]:
            loc = self.spec.where(arg_path)
            if loc.file == self.spec.file:
                return loc, json_pointer(arg_path)
        return self.spec.where(path), json_pointer(path)

    # ------------------------------------------------------------------------------------ values
    def _sources(self, paths: list[tuple], calls: tuple[Call, ...], most: int = 32) -> list[tuple[str, tuple]]:
        """Where the names the values at ``paths`` are computed from were written, followed through
        arguments, parameter defaults and the network's vars down to literals: ``(name, path of its value)``
        pairs, read from ``calls`` (those being expanded when the values were read)."""
        out: list[tuple[str, tuple]] = []
        todo = [(path, self._depth_of(path, calls)) for path in paths]
        while todo and len(out) < most:
            at, depth = todo.pop(0)
            for name in _names(self.raw(at)):
                found = self._source_of(name, depth, calls)
                if found is not None and found[0] not in {src for _, src in out}:
                    out.append((name, found[0]))
                    todo.append(found)
        return out[:most]

    def _depth_of(self, path: tuple, calls: tuple[Call, ...]) -> int:
        """How many of ``calls`` see the value at ``path``: its template's, and the callers'."""
        if path[:1] == ("defaults",):  # an op default is read in the scope of the step that uses it
            return len(calls)
        for k in range(len(calls) - 1, -1, -1):
            if path[:2] == ("templates", calls[k][1]):
                return k + 1
        return 0

    def _source_of(self, name: str, depth: int, calls: tuple[Call, ...]) -> tuple[tuple, int] | None:
        """The path of the value ``name`` has at call depth ``depth`` and the depth that value is read at: an
        argument of the innermost call binding it (read in its caller), a default (read in the template),
        else one of the network's vars."""
        if name in INHERITED:
            return None
        for k in range(depth - 1, -1, -1):
            _, tname, args = calls[k]
            if name in args:
                arg = args[name][1]
                return arg, self._depth_of(arg, calls[:k]) if arg[:1] == ("templates",) else 0
            if name in self.templates[tname].get("params", {}):
                return ("templates", tname, "params", name), k + 1
        return (("vars", name), 0) if name in self.spec.data.get("vars", {}) else None

    def raw(self, path: tuple) -> Any:
        """The value written at ``path`` of the spec (None if there is none)."""
        value: Any = self.spec.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    def _value_notes(self, sources: list[tuple[str, tuple]], most: int = 8) -> list[Diagnostic]:
        """Where the first ``most`` of ``sources`` outside the user's own file are written (the user's own
        lines are the first line and the calls' notes)."""
        located = [(name, path, self.spec.where(path)) for name, path in sources]
        return [Diagnostic(f"'{name}'{_WRITTEN}{_as_written(self.raw(path))}", loc, json_pointer(path),
                           severity="note") for name, path, loc in located if loc.file != self.spec.file][:most]

    # ------------------------------------------------------------------------------------ shapes
    def _shaped_by(self, inputs: list[int], dims: tuple[int, ...] | None = None, consumer: tuple = (),
                   most: int = 6, visits: int = 256) -> list[Diagnostic]:
        """For a rule on shapes, where the axes in question (``dims``; by default those the inputs disagree
        on, else the spatial ones) got their sizes, nearest first and at most ``most`` layers: each layer
        upstream that changed them or whose sizes there do not follow its input's (a convolution's
        channels), up to the layers the inputs share when several disagree, with its attributes that set
        them where they are written and what those were computed from; a layer feeding one of those whose
        attributes could have changed the axes but did not (a padding of 0 before a 'valid' convolution);
        a step skipped just before one of those or before the failing step at ``consumer`` (its 'if'
        false, it passed its input on)."""
        layers = self.g.layers
        shapes = [layers[i].shape for i in inputs[:most]]
        if not shapes:
            return []
        if dims is None:
            dims = _differing(shapes) or tuple(range(len(shapes[0]) - 1))
        if not dims:  # a rule on none of the axes (a rank, a noise shape): where the input got its shape
            layer = layers[inputs[0]]
            while layer.inputs and layers[layer.inputs[0]].shape == layer.shape:
                layer = layers[layer.inputs[0]]
            return [] if layer.is_input else [self._shape_note(layer)]
        rank = len(shapes[0])
        stop = self._shared(inputs) - set(inputs) if len(set(inputs)) > 1 else set()  # a block's input is asked
        out: list[Diagnostic] = []
        starts = _odd_ones(inputs[:most], shapes, dims)
        out += [note for nid in dict.fromkeys(starts) for note in self._skipped_into(consumer, nid)]
        queue, seen, given = deque(starts), set(), 0
        while queue and given < most and visits > 0:
            nid = queue.popleft()
            if nid in seen or nid in stop:
                continue
            seen.add(nid)
            visits -= 1
            layer = layers[nid]
            if layer.is_nested:  # its members made its shape
                queue.extend(layer.members[-1:])
                continue
            if layer.opdef is None or len(layer.shape) != rank:
                continue
            keys, feeds = self._how_shaped(layer, dims)
            if not _keeps(layers, layer, dims) or not feeds:
                out += self._layer_notes(layer, keys, shape=True)
                out += [note for up in layer.inputs[:1] for note in self._skipped_into(self.made[nid][0], up)]
                given += 1
                for up in layer.inputs:
                    feeder = layers[up]
                    if up in seen or up in stop or feeder.opdef is None or len(feeder.shape) != rank \
                            or not _keeps(layers, feeder, dims) or given >= most:
                        continue
                    notes = self._layer_notes(feeder, self._how_shaped(feeder, dims)[0], shape=False)
                    if notes:
                        out += notes
                        given += 1
            queue.extend(feeds)
        return out

    def _how_shaped(self, layer: Layer, dims: tuple[int, ...]) -> tuple[list[tuple[str, tuple]], list[int]]:
        """The attributes (elements of them) of ``layer`` that set its output's axes ``dims``, and the inputs
        whose sizes on those axes do (an attribute computed from ``in_channels`` reads its first input's)."""
        opdef, attrs = layer.opdef, layer.attrs
        shapes = [self.g.layers[i].shape for i in layer.inputs]
        base = _outcome(opdef, attrs, shapes, dims)
        keys = relevant_attrs(opdef, attrs, lambda a: _resized(_outcome(opdef, a, shapes, dims), base))
        feeds = [up for k, up in enumerate(layer.inputs)
                 if _outcome(opdef, attrs, [*shapes[:k], _nudged(shapes[k], dims), *shapes[k + 1:]], dims) != base]
        if layer.inputs and layer.inputs[0] not in feeds:
            step = self.raw(self.made[layer.id][0])
            if isinstance(step, dict) and any(n in SHAPE_VARS for key, _ in keys for n in _names(step.get(key))):
                feeds.insert(0, layer.inputs[0])
        if not keys and not feeds:  # the sizes are its own, yet no attribute moves them here (a stride of
            large = [_nudged(s, dims, 1000) for s in shapes]  # 10**8 on a 1x1 input): ask at a larger input
            wide = _outcome(opdef, attrs, large, dims)
            keys = relevant_attrs(opdef, attrs, lambda a: _resized(_outcome(opdef, a, large, dims), wide))
        return keys, feeds

    def _skipped_into(self, consumer: tuple, nid: int) -> list[Diagnostic]:
        """Notes on the steps before the step at ``consumer``, in its body, that an 'if' skipped, passing
        the value ``nid`` on unchanged: where each condition is written and what it was computed from."""
        notes = []
        for path, calls, passed in self.skipped:
            if passed == nid and path[:-1] == consumer[:-1] and path[-1] < consumer[-1]:
                cond = path + ("if",)
                notes.append(Diagnostic(f"the step here is skipped (its 'if' is false: {_as_written(self.raw(cond))})",
                                        self.spec.where(cond), json_pointer(cond), severity="note"))
                notes += self._value_notes(self._sources([cond], calls), 4)
        return notes

    def _layer_notes(self, layer: Layer, keys: list[tuple[str, tuple]], shape: bool, most: int = 4) -> list[Diagnostic]:
        """Notes on how ``layer`` shaped the axes in question: that it did (``shape``), where the attributes
        ``keys`` are written (unless on that note's line) and at most ``most`` values they were computed from."""
        path, calls = self.made[layer.id]
        written = self._written_attrs(layer.opdef, path, keys)
        notes = [self._shape_note(layer)] if shape else []
        notes += [self._attr_note(key, p, layer) for key, p in written
                  if not shape or self.spec.where(p).line != layer.loc.line]
        notes += self._value_notes(self._sources([p for _, p in written], calls), most)
        return notes

    def _shared(self, inputs: list[int]) -> set[int]:
        """The layers upstream of every one of ``inputs``: where their paths have not yet parted."""
        common: set[int] | None = None
        for nid in set(inputs):
            seen, stack = {nid}, [nid]
            while stack:
                layer = self.g.layers[stack.pop()]
                for up in (*layer.inputs, *layer.members[-1:]):
                    if up not in seen:
                        seen.add(up)
                        stack.append(up)
            common = seen if common is None else common & seen
        return common or set()

    def _written_attrs(self, opdef: OpDef | None, step: tuple, keys: list[tuple[str, tuple]]
                       ) -> list[tuple[str, tuple]]:
        """Where each attribute ``(key, element)`` of the step at ``step`` is written (in the step, else
        in the network's ``defaults``; an element of a list written out, at its own line): ``(key, path)``
        pairs, leaving out attributes nobody wrote."""
        if opdef is None:
            return []
        raw_step = self.raw(step)
        out: list[tuple[str, tuple]] = []
        for key, element in keys:
            if isinstance(raw_step, dict) and key in raw_step:
                path = step + (key,)
            elif key in self.spec.data.get("defaults", {}).get(opdef.name, {}):
                path = ("defaults", opdef.name, key)
            else:
                continue
            for k in range(len(element), 0, -1):  # the element itself if it is written out
                if isinstance(self.raw(path + element[:k - 1]), list) and path + element[:k] in self.spec.locs:
                    path += element[:k]
                    break
            if (key, path) not in out:
                out.append((key, path))
        return out

    def _shape_note(self, layer: Layer) -> Diagnostic:
        return Diagnostic(f"'{layer.name or layer.op}' {fmt_shape(layer.shape)} gets its shape here", layer.loc,
                          layer.pointer, severity="note")

    def _attr_note(self, key: str, path: tuple, layer: Layer | None) -> Diagnostic:
        whose = f" of '{layer.name or layer.op}'" if layer is not None else ""
        return Diagnostic(f"'{key}'{whose}{_WRITTEN}{_as_written(self.raw(path))}", self.spec.where(path),
                          json_pointer(path), severity="note")


_WRITTEN = " is written here: "  # the phrase of a note naming where a value was written


def relevant_attrs(opdef: OpDef, attrs: dict, changes: Callable[[dict], bool]) -> list[tuple[str, tuple]]:
    """``(key, element)`` of each attribute (each number of a list, by its index path; the whole list when
    every number of it does) whose nearby value (one more or less, the other choice, the other truth
    value) ``changes`` the outcome."""
    out = []
    for key, value in attrs.items():
        attr = opdef.attrs.get(key)
        tried: dict[tuple, bool] = {}  # each element: whether one of its nearby values changes the outcome
        for element, other in _nearby(value, attr):
            tried[element] = tried.get(element, False) or changes({**attrs, key: other})
        out += [(key, element) for element in _whole(tried)]
    return out


def _whole(tried: dict[tuple, bool]) -> list[tuple]:
    """The elements that are hits, a list named whole where every element of it is (a row of a padding)."""
    hits = [element for element, hit in tried.items() if hit]
    for depth in range(max((len(e) for e in hits), default=0), 0, -1):
        for prefix in dict.fromkeys(e[:depth - 1] for e in hits if len(e) == depth):
            under = [e for e in tried if e[:depth - 1] == prefix and len(e) >= depth]
            if all(tried[e] for e in under):
                hits = [e for e in hits if e[:depth - 1] != prefix] + [prefix]
    return hits


def failing_axes(opdef: OpDef, attrs: dict, shapes: list[tuple]) -> tuple[int, ...]:
    """The axes a failing shape rule is about. Of inputs that disagree: each axis that still fails when
    the others are made to agree (a concatenation's spatial axes, not its channels). Of one input: each
    axis whose size, one larger, changes the complaint (beyond echoing the shape), else the axes that
    fail together."""
    if len(shapes) > 1:
        def agreeing_but(d: int) -> list[tuple]:
            return [tuple(s[k] if k == d else shapes[0][k] for k in range(len(s))) for s in shapes]
        return tuple(d for d in _differing(shapes) if _failed(_outcome(opdef, attrs, agreeing_but(d))))
    shape = shapes[0]
    base = _complaint(opdef, attrs, shape)
    axes = tuple(d for d in range(len(shape)) if isinstance(shape[d], int))
    alone = tuple(d for d in axes if _complaint(opdef, attrs, _nudged(shape, (d,))) != base)
    if alone:
        return alone
    # several axes fail alike (a kernel larger than both sides): those whose size keeps the complaint when
    # every other axis is nudged; all of them means the complaint is about none (a noise shape)
    together = tuple(d for d in axes if _complaint(opdef, attrs, _nudged(shape, tuple(k for k in axes if k != d)))
                     == base)
    return together if len(together) < len(axes) else ()


def _resized(outcome: Any, base: Any) -> bool:
    """Whether a nudged attribute gave other sizes (not a complaint: a group count that no longer divides
    the channels says nothing about the sizes)."""
    return outcome is not None and not _failed(outcome) and outcome != base


def _failed(outcome: Any) -> bool:
    return isinstance(outcome, tuple) and outcome[:1] == ("error",)


def _complaint(opdef: OpDef, attrs: dict, shape: tuple) -> Any:
    """The outcome of a one-input shape rule, the input's shape in its message left out."""
    outcome = _outcome(opdef, attrs, [shape])
    if _failed(outcome):
        return ("error", outcome[1].replace(fmt_shape(shape), "<input>"))
    return outcome


def _weights(opdef: OpDef, attrs: dict, shapes: list[tuple]) -> Any:
    """How many numbers a layer's weights hold (None if the rule never meets such attributes)."""
    try:
        return sum(w.size for w in opdef.weights(attrs, shapes))
    except Exception:  # noqa: BLE001 - as in _outcome
        return None


def _nudged(shape: tuple, dims: tuple[int, ...], by: int = 1) -> tuple:
    """``shape`` larger ``by`` on the axes ``dims`` (an open size stays open)."""
    return tuple(n + by if (k in dims or k - len(shape) in dims) and isinstance(n, int) else n
                 for k, n in enumerate(shape))


def _odd_ones(inputs: list[int], shapes: list[tuple], dims: tuple[int, ...]) -> list[int]:
    """The inputs whose sizes on ``dims`` differ from those most inputs have, if most agree (the branch
    of four that went wrong); else all of them."""
    sizes = [tuple(s[d] for d in dims) if len(s) == len(shapes[0]) else None for s in shapes]
    common = max(set(sizes), key=sizes.count)
    if sizes.count(common) * 2 <= len(sizes) or sizes.count(common) == len(sizes):
        return inputs
    return [nid for nid, size in zip(inputs, sizes) if size != common]


def _differing(shapes: list[tuple]) -> tuple[int, ...]:
    """The axes that shapes of one rank disagree on (none if their ranks differ)."""
    if len({len(s) for s in shapes}) != 1:
        return ()
    return tuple(d for d in range(len(shapes[0])) if len({s[d] for s in shapes}) > 1)


def _keeps(layers: list[Layer], layer: Layer, dims: tuple[int, ...]) -> bool:
    """Whether ``layer``'s output has its first input's sizes on the axes ``dims``."""
    return bool(layer.inputs) and _same_axes(layers[layer.inputs[0]].shape, layer.shape, dims)


def _outcome(opdef: OpDef, attrs: dict, shapes: list[tuple], dims: tuple[int, ...] | None = None) -> Any:
    """The output's sizes on ``dims`` (all of them by default), or the shape rule's complaint."""
    try:
        shape = opdef.shape(attrs, shapes)
    except ShapeError as exc:
        return ("error", str(exc))
    except Exception:  # noqa: BLE001 - a nearby value the rule never meets tells nothing
        return None
    return tuple(shape[d] if -len(shape) <= d < len(shape) else None for d in (dims or range(len(shape))))


def _nearby(value: Any, attr: Attr | None, element: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """``(element, the value with that element nudged)`` for each number of ``value`` (and each other
    choice of a string attribute)."""
    if isinstance(value, bool):
        yield element, not value
    elif isinstance(value, int):  # 1 and 2 as well: one more than a huge stride changes nothing
        yield from ((element, v) for v in dict.fromkeys((value + 1, value - 1, 1, 2)) if v != value and v > 0)
    elif isinstance(value, float):
        yield from ((element, v) for v in (value + 1, value / 2) if v != value)
    elif isinstance(value, str) and attr is not None and not element:
        yield from ((element, c) for c in attr.choices if c != value)
    elif isinstance(value, (list, tuple)):
        for k, item in enumerate(value):
            for sub, other in _nearby(item, None, element + (k,)):
                yield sub, type(value)((*value[:k], other, *value[k + 1:]))


def _same_axes(a: tuple, b: tuple, dims: tuple[int, ...]) -> bool:
    return len(a) == len(b) and all(a[d] == b[d] for d in dims)


def _names(raw: Any) -> list[str]:
    """The names a written value reads, in order: of an expression, a name template's fields, a list's
    items, or a step's attributes (a limit such as 'params' fails at a whole step)."""
    if isinstance(raw, list):
        return list(dict.fromkeys(n for item in raw for n in _names(item)))
    if isinstance(raw, dict):
        opdef = OPS.get(raw.get("op")) if isinstance(raw.get("op"), str) else None
        keys = opdef.attrs if opdef is not None else [k for k in raw if k not in CALL_META]
        return list(dict.fromkeys(n for k in keys if k in raw for n in _names(raw[k])))
    if not isinstance(raw, str):
        return []
    try:
        fields = template_fields(raw) if "{" in raw else [raw]
        return sorted({n for field in fields for n in names_in(field)})
    except ExpressionError:  # a literal string that is not an expression
        return []


def _as_written(raw: Any, limit: int = 60) -> str:
    """A value as YAML shows it (``null``, ``true``, ``4 * filters``, ``[[1, k // 2], [1, 1]]``), cut to
    ``limit`` characters."""
    text = "null" if raw is None else str(raw).lower() if isinstance(raw, bool) else \
        "[" + ", ".join(_as_written(x, limit) for x in raw) + "]" if isinstance(raw, list) else str(raw)
    return text if len(text) <= limit else text[:limit] + "..."


def _written(args: dict[str, tuple[Any, tuple]], limit: int = 120) -> str:
    """`` with filters: -192, stride: 2``: the arguments as the user wrote them."""
    text = ", ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, (v, _) in args.items())
    text = text if len(text) <= limit else text[:limit] + "..."
    return f" with {text}" if text else ""

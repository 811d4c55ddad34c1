"""Turn a spec file into one merged document: ``imports``, ``extends`` chains and ``--set`` overrides.

Merging is a deep merge of mappings (later wins; lists and scalars replace), done on the data and
the location maps together so every merged value still points at the file and line it came from.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from archspec.errors import Diagnostic, Location, SpecError, did_you_mean
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.lang import schema
from archspec.lang.sources import resolve_source
from archspec.lang.yaml_loader import Document, load_document, parse_value

NETWORK_KEYS = ("name", "input", "stages")


@dataclass
class Spec(Document):
    """A fully merged spec: ``data`` plus locations that may span several files."""

    sources: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.data.get("name", Path(self.file).stem))


class SpecCache:
    """Parsed, schema-checked files for one run, so shared bases are read once.

    With ``collect=True`` (``archspec validate``) a file with schema problems is still returned, its
    problems kept in ``problems``, so later checks can report more than the first file's schema errors;
    only problems in ``imports``/``extends`` themselves stop the load, since they decide what to merge.
    """

    def __init__(self, collect: bool = False) -> None:
        self.docs: dict[Path, Document] = {}
        self.collect = collect
        self.problems: dict[Path, list[Diagnostic]] = {}

    def load(self, path: Path, limits: Limits) -> Document:
        key = path.resolve()
        if key not in self.docs:
            doc = load_document(path, limits)
            problems = schema.check(doc)
            if problems and not (self.collect and all(_mergeable(d.pointer) for d in problems)):
                raise SpecError(problems)
            self.problems[key] = problems
            self.docs[key] = doc
        return self.docs[key]


def _mergeable(pointer: str | None) -> bool:
    return not (pointer or "").startswith(("/imports", "/extends"))


def load_spec(
    source: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    cache: SpecCache | None = None,
) -> Spec:
    """Load ``source`` (a path or bundled name), resolve imports/extends and apply overrides."""
    path = resolve_source(source)
    cache = cache or SpecCache()
    doc = _resolve(path, [], limits, cache)
    spec = Spec(file=doc.file, data=doc.data, locs=doc.locs, key_locs=doc.key_locs,
                sources=sorted({loc.file for loc in doc.locs.values()}))
    return apply_overrides(spec, overrides, limits)


def apply_overrides(spec: Spec, overrides: Mapping[str, Any] | Iterable[str] | None,
                    limits: Limits = DEFAULT_LIMITS) -> Spec:
    """``spec`` with ``--set``-style overrides applied (a new Spec; ``spec`` is not changed)."""
    changes = _normalise_overrides(overrides, limits)
    if changes:
        spec = Spec(file=spec.file, data=copy.deepcopy(spec.data), locs=dict(spec.locs),
                    key_locs=dict(spec.key_locs), sources=list(spec.sources))  # cached documents share values
    for key, value, origin in changes:
        _apply_override(spec, key, value, origin)
    if spec.data.get("kind", "network") == "network":
        missing = [k for k in NETWORK_KEYS if k not in spec.data]
        if missing:
            raise SpecError(
                Diagnostic(f"missing required key '{k}' (a network needs {', '.join(NETWORK_KEYS)})",
                           spec.where(()), "")
                for k in missing
            )
    return spec


def _resolve(path: Path, chain: list[Path], limits: Limits, cache: SpecCache) -> Document:
    doc = cache.load(path, limits)
    data = doc.data
    here = path.resolve()
    base = Document(file=doc.file, data={})
    for i, rel in enumerate(data.get("imports", [])):
        lib = _follow(path, rel, ("imports", i), doc, chain + [here], limits, cache)
        shared = {k: lib.data[k] for k in ("templates",) if k in lib.data}
        base = merge(base, _subdoc(lib, shared))
    if "extends" in data:
        parent = _follow(path, data["extends"], ("extends",), doc, chain + [here], limits, cache)
        base = merge(parent, base)
    own = {k: v for k, v in data.items() if k not in ("extends", "imports")}
    merged = merge(base, _subdoc(doc, own))
    merged.file = doc.file
    return merged


def _follow(path: Path, rel: str, at: tuple, doc: Document, chain: list[Path], limits: Limits,
            cache: SpecCache) -> Document:
    target = (path.parent / rel)
    where = doc.where(at)
    if target.resolve() in chain:
        cycle = " -> ".join(p.name for p in chain + [target.resolve()])
        raise SpecError(Diagnostic(f"'{at[0]}' cycle: {cycle}", where, "/" + at[0]))
    if len(chain) > limits.extends_depth:
        raise SpecError(Diagnostic(f"'{at[0]}' chain deeper than {limits.extends_depth} (limit 'extends_depth')",
                                   where, "/" + at[0]))
    if not target.is_file():
        raise SpecError(Diagnostic(f"'{at[0]}' file not found: {rel}", where, "/" + "/".join(map(str, at)),
                                   hint=did_you_mean(Path(rel).name, [p.name for p in target.parent.glob("*.y*ml")])
                                   if target.parent.is_dir() else None))
    try:
        return _resolve(target, chain, limits, cache)
    except SpecError as exc:
        note = Diagnostic(f"in the file named by '{at[0]}' here", where, severity="note")
        raise SpecError([*exc.diagnostics, note]) from None


def _subdoc(doc: Document, data: dict) -> Document:
    return Document(file=doc.file, data=data, locs=doc.locs, key_locs=doc.key_locs)


def merge(base: Document, over: Document) -> Document:
    """Deep-merge ``over`` onto ``base`` and rebuild the location maps for the merged data."""
    data = _merge_data(base.data, over.data)
    out = Document(file=over.file, data=data)
    _relocate(data, (), base, over, out)
    return out


def _merge_data(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for k, v in over.items():
            merged[k] = _merge_data(base[k], v) if k in base else v
        return merged
    return over


def _relocate(data: Any, path: tuple, base: Document, over: Document, out: Document) -> None:
    # `over` wins wherever it has the value; mapping keys it does not mention keep base locations
    loc = over.locs.get(path) or base.locs.get(path)
    if loc is not None:
        out.locs[path] = loc
    key_loc = over.key_locs.get(path) or base.key_locs.get(path)
    if key_loc is not None:
        out.key_locs[path] = key_loc
    if isinstance(data, dict):
        for k, v in data.items():
            _relocate(v, path + (k,), base, over, out)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _relocate(v, path + (i,), base, over, out)


def _normalise_overrides(overrides: Mapping[str, Any] | Iterable[str] | None,
                         limits: Limits) -> list[tuple[str, Any, Location]]:
    """``{"stages.conv4.repeat": 23}`` or ``["stages.conv4.repeat=23"]`` -> (key, value, origin)."""
    if not overrides:
        return []
    out = []
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            out.append((key, value, Location(f"--set {key}")))
        return out
    for item in overrides:
        origin = Location(f"--set {item}")
        if "=" not in item:
            raise SpecError(Diagnostic("expected KEY=VALUE, e.g. stages.conv4.repeat=23", origin))
        key, text = item.split("=", 1)
        value = parse_value(text, origin.file, limits).data if text.strip() else None
        out.append((key.strip(), value, origin))
    return out


def _apply_override(spec: Spec, key: str, value: Any, origin: Location) -> None:
    parts = [p for p in key.split(".")]
    if not all(parts):
        raise SpecError(Diagnostic(f"invalid override key '{key}'", origin))
    node: Any = spec.data
    path: tuple = ()
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            try:
                index = int(part)
                node[index]
            except (ValueError, IndexError):
                raise SpecError(Diagnostic(f"'{'.'.join(parts[:depth])}' has no item {part}", origin)) from None
            step: Any = index
        elif isinstance(node, dict):
            step = part
            if part not in node and not last:
                raise SpecError(Diagnostic(f"no '{'.'.join(parts[:depth + 1])}' in the spec", origin,
                                           hint=did_you_mean(part, node)))
        else:
            raise SpecError(Diagnostic(f"'{'.'.join(parts[:depth])}' is not a mapping or list", origin))
        path += (step,)
        if last:
            node[step] = value
        else:
            node = node[step]
    for p in [p for p in spec.locs if p[: len(path)] == path]:
        del spec.locs[p]
    spec.locs[path] = origin
    spec.key_locs[path] = origin
    problems = schema.check(Document(file=spec.file, data=spec.data, locs=spec.locs, key_locs=spec.key_locs))
    if problems:
        raise SpecError(problems)

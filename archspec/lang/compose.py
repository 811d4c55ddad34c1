"""Turn a spec file into one merged document: ``imports``, ``extends`` chains and ``--set`` overrides.

Merging is a deep merge of mappings (later wins; lists and scalars replace), done on the data and
the location maps together so every merged value still points at the file and line it came from.
``--set`` overrides use the same merge.

Where ``imports``/``extends`` may point (docs/spec-language.md, "Where imports and extends may point"):
``archspec:NAME`` names a bundled spec or library; any other path is relative to the file that names it
and must stay under the *root* of the spec being loaded (the enclosing git checkout, else the spec's
own folder) or inside the bundled zoo, unless :func:`allowed_paths` (``--allow-path DIR``) adds
folders. A referenced file must look like a spec (a top-level ``archspec:`` key); nothing from a file
that does not is ever echoed.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from archspec.errors import Diagnostic, Location, SpecError, did_you_mean
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.lang import schema
from archspec.lang.sources import BUNDLED_PREFIX, bundled_dir, bundled_names, resolve_source, shown_path
from archspec.lang.yaml_loader import Document, json_pointer, load_document, parse_value, pointer_within

NETWORK_KEYS = ("name", "input", "stages")

_ALLOWED: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar("archspec_allowed_paths", default=())


@contextlib.contextmanager
def allowed_paths(dirs: Iterable[str | Path]) -> Iterator[None]:
    """Let ``imports``/``extends`` also reach files under ``dirs`` (``--allow-path DIR``) in this block."""
    token = _ALLOWED.set(tuple(Path(d).resolve() for d in dirs))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def spec_root(path: str | Path) -> Path:
    """The folder a spec's references must stay in.

    The enclosing git checkout; outside one, the current directory when the spec is below it; else the
    spec's own folder. The filesystem root and the home folder never count (a dotfile repository, a
    run from ``/``): then it is the spec's folder.
    """
    folder = Path(path).resolve().parent
    too_wide = {Path(folder.anchor)}
    with contextlib.suppress(RuntimeError, OSError):
        too_wide.add(Path.home().resolve())
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return folder if candidate in too_wide else candidate
    cwd = Path.cwd().resolve()
    if folder.is_relative_to(cwd) and cwd not in too_wide:
        return cwd
    return folder


_SPEC_KEY = re.compile(r"""^(?:\{\s*)?["']?archspec["']?[ \t]*:""", re.M)


_TOP_KEY = re.compile(r"""^(?:\{\s*)?["']?([A-Za-z_][\w-]*)["']?[ \t]*:""", re.M)


def looks_like_spec(path: str | Path, max_bytes: int = DEFAULT_LIMITS.file_bytes, near: bool = False) -> bool:
    """Whether a file has a top-level ``archspec:`` key, judged from its text without parsing it.

    ``near``: also a file that looks like a spec that lost that key: a top-level key close to ``archspec``
    (``archpsec:``, ``ArchSpec:``) or a top-level ``stages:`` or ``templates:``. Only regular files are
    opened (a FIFO would block): anything else is not a spec.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError:
        return False
    text = raw.decode("utf-8", "replace")
    if _SPEC_KEY.search(text) is not None:
        return True
    return near and any(key in ("stages", "templates") or
                        difflib.SequenceMatcher(None, key.lower(), "archspec").ratio() >= 0.75
                        for key in dict.fromkeys(_TOP_KEY.findall(text)))


def references(data: object) -> list[tuple[str, tuple]]:
    """``(rel, json path)`` for each ``imports`` entry, then the ``extends``, of a document's data (entries that
    are not strings are the schema's to report)."""
    if not isinstance(data, dict):
        return []
    out: list[tuple[str, tuple]] = []
    if isinstance(data.get("imports"), list):
        out += [(rel, ("imports", i)) for i, rel in enumerate(data["imports"]) if isinstance(rel, str)]
    if isinstance(data.get("extends"), str):
        out.append((data["extends"], ("extends",)))
    return out


def reference_note(doc: Document, rel: str, at: tuple) -> Diagnostic:
    """The note at an ``imports``/``extends`` line whose file has errors."""
    return Diagnostic(f"'{rel}' (named by '{at[0]}' here) has errors", doc.where(at), json_pointer(at),
                      severity="note")


def reference_path(file: str | Path, rel: str) -> Path:
    """The file named by an ``imports``/``extends`` entry ``rel`` of ``file`` (rule not checked)."""
    if rel.startswith(BUNDLED_PREFIX):
        name = rel[len(BUNDLED_PREFIX):]
        return shown_path(bundled_dir() / (name if Path(name).suffix in (".yaml", ".yml") else f"{name}.yaml"))
    return shown_path(Path(file).parent / rel)


def _bundled_refs() -> list[str]:
    zoo = bundled_dir()
    return [*bundled_names(), *(f"lib/{p.name}" for p in sorted((zoo / "lib").glob("*.yaml")))]


@dataclass
class Spec(Document):
    """A fully merged spec: ``data`` plus locations that may span several files."""

    sources: list[str] = field(default_factory=list)
    overrides: list["Override"] = field(default_factory=list)
    checked: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # checks.check_spec's

    @property
    def name(self) -> str:
        return str(self.data.get("name", Path(self.file).stem))


@dataclass(frozen=True)
class Override:
    """One applied ``--set``: the spec path it changed and its text as written."""

    path: tuple
    text: str
    origin: Location


class SpecCache:
    """Parsed, schema-checked files for one run, so shared bases are read once.

    Resolved files (imports and extends merged) are kept too, so a library imported many times, or a
    fan-out of imports several levels deep, is resolved once per file, not once per path to it.

    With ``collect=True`` (``archspec validate``) a file with schema problems is still returned, its
    problems kept in ``problems``, so later checks can report more than the first file's schema errors;
    only problems in ``imports``/``extends`` themselves stop the load, since they decide what to merge.
    """

    def __init__(self, collect: bool = False) -> None:
        self.docs: dict[Path, Document] = {}
        self.collect = collect
        self.problems: dict[Path, list[Diagnostic]] = {}
        self.resolved: dict[tuple, tuple[Document, int]] = {}

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
    doc, _ = _resolve(path, [], limits, cache, _roots(path))
    spec = Spec(file=doc.file, data=doc.data, locs=doc.locs, key_locs=doc.key_locs,
                sources=sorted({loc.file for loc in doc.locs.values()}))
    return apply_overrides(spec, overrides, limits)


def apply_overrides(spec: Spec, overrides: Mapping[str, Any] | Iterable[str] | None,
                    limits: Limits = DEFAULT_LIMITS) -> Spec:
    """``spec`` with ``--set``-style overrides applied (a new Spec; ``spec`` is not changed).

    A mapping value is deep-merged into the mapping it replaces, as ``extends`` does, so
    ``--set 'stages.conv5.at={first: {stride: 1}}'`` keeps ``at.first.project``.
    """
    changes = _normalise_overrides(overrides, limits)
    if changes:
        spec = Spec(file=spec.file, data=_copy_tree(spec.data), locs=dict(spec.locs),
                    key_locs=dict(spec.key_locs), sources=list(spec.sources),
                    overrides=list(spec.overrides))  # cached documents share values
    for key, value, origin in changes:
        _apply_override(spec, key, value, origin)
    if spec.data.get("kind", "network") == "network":
        missing = [k for k in NETWORK_KEYS if k not in spec.data]
        if missing:
            raise SpecError(
                Diagnostic(f"missing required key '{k}' at the top level", spec.where(()), "",
                           hint=f"a network needs {', '.join(NETWORK_KEYS)} (after 'extends' is applied)")
                for k in missing
            )
    return spec


def _copy_tree(value: Any) -> Any:
    """A copy of plain data that shares nothing (unlike deepcopy, aliases become separate values)."""
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def _roots(path: Path) -> tuple[Path, ...]:
    """Folders references may reach when loading ``path``: its root, the zoo and ``allowed_paths``."""
    return (spec_root(path), bundled_dir().resolve(), *_ALLOWED.get())


def _resolve(path: Path, chain: list[Path], limits: Limits, cache: SpecCache,
             roots: tuple[Path, ...]) -> tuple[Document, int]:
    """The merged document of ``path`` and its height (the longest chain of references below it)."""
    here = path.resolve()
    key = (here, roots)
    hit = cache.resolved.get(key)
    if hit is not None and len(chain) + hit[1] <= limits.extends_depth:
        return hit
    doc = cache.load(path, limits)
    data = doc.data
    base = Document(file=doc.file, data={})
    height = 0
    for rel, at in references(data):  # the imports in order, then the extends
        named, h = _follow(path, rel, at, doc, chain + [here], limits, cache, roots)
        height = max(height, h + 1)
        if at[0] == "imports":
            base = merge(base, _subdoc(named, {k: named.data[k] for k in ("templates",) if k in named.data}))
            continue
        parent = named
        if parent.data.get("kind") == "library" and data.get("kind", "network") != "library":
            raise SpecError(Diagnostic(
                f"'extends' names a template library (kind: library), not a network: {data['extends']}",
                doc.where(("extends",)), "/extends",
                hint="a network uses a library's templates with 'imports: [...]'; 'extends' takes a network"))
        base = merge(parent, base)
    own = {k: v for k, v in data.items() if k not in ("extends", "imports")}
    merged = merge(base, _subdoc(doc, own))
    merged.file = doc.file
    cache.resolved[key] = (merged, height)
    return merged, height


def _follow(path: Path, rel: str, at: tuple, doc: Document, chain: list[Path], limits: Limits,
            cache: SpecCache, roots: tuple[Path, ...]) -> tuple[Document, int]:
    where = doc.where(at)
    pointer = json_pointer(at)
    target = _checked_target(path, rel, at, where, pointer, roots)
    resolved = target.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in chain + [resolved])
        raise SpecError(Diagnostic(f"'{at[0]}' cycle: {cycle}", where, "/" + at[0]))
    if len(chain) > limits.extends_depth:
        raise SpecError(Diagnostic(f"'{at[0]}' chain deeper than {limits.extends_depth} (limit 'extends_depth')",
                                   where, "/" + at[0]))
    try:
        return _resolve(target, chain, limits, cache, roots)
    except SpecError as exc:
        note = Diagnostic(f"in the file named by '{at[0]}' here", where, severity="note")
        raise SpecError([*exc.diagnostics, note]) from None


def _checked_target(path: Path, rel: str, at: tuple, where: Location, pointer: str,
                    roots: tuple[Path, ...]) -> Path:
    """The file ``rel`` names, after the path rule: inside a root, a regular file, and a spec."""
    what = at[0]
    bundled = rel.startswith(BUNDLED_PREFIX)
    target = reference_path(path, rel)
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise SpecError(Diagnostic(f"'{what}' path cannot be resolved (a symlink loop?): {rel}", where,
                                   pointer)) from None
    zoo = bundled_dir().resolve()
    if bundled and not resolved.is_relative_to(zoo):
        raise SpecError(Diagnostic(f"'{what}': {rel} is not a bundled spec or library", where, pointer,
                                   hint="see 'archspec list'; libraries are archspec:lib/NAME.yaml"))
    if not any(resolved.is_relative_to(r) for r in roots):
        raise SpecError(Diagnostic(
            f"'{what}' path leaves the spec's root folder {roots[0]}: {rel}", where, pointer,
            hint="imports and extends stay under the spec's git checkout (else its folder) or name a bundled "
                 "file as 'archspec:NAME'; allow another folder with --allow-path DIR"))
    if target.exists() and not target.is_file():
        raise SpecError(Diagnostic(f"'{what}' names something that is not a regular file: {rel}", where, pointer))
    if not target.is_file():
        if bundled:
            hint = did_you_mean(rel[len(BUNDLED_PREFIX):], _bundled_refs()) or "see 'archspec list'"
        else:
            hint = _bundled_hint(rel) or (did_you_mean(Path(rel).name, [p.name for p in target.parent.glob("*.y*ml")])
                                          if target.parent.is_dir() else None)
        raise SpecError(Diagnostic(f"'{what}' file not found: {rel}", where, pointer, hint=hint))
    if not looks_like_spec(target):
        raise SpecError(Diagnostic(
            f"'{what}' names a file that is not an archspec spec (no top-level 'archspec:' key): {rel}", where,
            pointer, hint="its content is not shown"))
    return target


def _bundled_hint(rel: str) -> str | None:
    """``extends: resnet50`` or ``imports: [lib/resnet.yaml]`` written for a bundled file."""
    name = rel[:-5] if rel.endswith(".yaml") else rel
    if name in bundled_names() or f"{name}.yaml" in _bundled_refs():
        return f"for the bundled file write '{BUNDLED_PREFIX}{name}'"
    return None


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
            old = node[step] if isinstance(node, list) or step in node else None
            if isinstance(old, dict) and isinstance(value, dict):
                node[step] = _merge_data(old, value)  # the extends merge: keys not written keep their values
                changed = [path + sub for sub in _leaf_paths(value, ())]
            else:
                node[step] = value
                changed = [path]
        else:
            node = node[step]
    for target in changed:
        for p in [p for p in spec.locs if p[: len(target)] == target]:
            del spec.locs[p]
        for p in [p for p in spec.key_locs if p[: len(target)] == target]:
            del spec.key_locs[p]
        spec.locs[target] = origin
        spec.key_locs[target] = origin
    spec.locs.setdefault(path, origin)
    spec.key_locs.setdefault(path, origin)
    spec.overrides.append(Override(path, origin.file[len("--set "):], origin))
    problems = schema.check(Document(file=spec.file, data=spec.data, locs=spec.locs, key_locs=spec.key_locs))
    if problems:
        raise SpecError(problems)


def _leaf_paths(value: Any, prefix: tuple) -> list[tuple]:
    """Paths of the values a merged mapping writes (an empty mapping writes itself)."""
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaf_paths(v, prefix + (k,))]
    return [prefix]


def blame_overrides(diagnostics: Iterable[Diagnostic], spec: Spec,
                    baseline: Iterable[Diagnostic] | None = None) -> list[Diagnostic]:
    """Name the ``--set`` behind each diagnostic it causes: ``message (caused by --set 'K=V')``.

    A diagnostic located at a ``--set`` names it already. One whose JSON pointer lies in or around
    a value a ``--set`` wrote is that ``--set``'s; any other that ``baseline`` (the same spec's
    diagnostics without overrides) lacks is caused by the overrides together, and names them all.
    """
    if not spec.overrides:
        return list(diagnostics)
    known = {(d.location, d.message) for d in baseline or ()}
    out = []
    for d in diagnostics:
        if d.severity != "error" or (d.location and d.location.file.startswith("--set ")):
            out.append(d)
            continue
        pointer = d.pointer or ""
        mine = [o for o in spec.overrides if pointer and _nested(pointer, json_pointer(o.path))]
        if not mine and baseline is not None and (d.location, d.message) not in known:
            mine = spec.overrides
        if mine:
            named = ", ".join(f"--set '{o.text}'" for o in mine)
            d = replace(d, message=f"{d.message} (caused by {named})")
        out.append(d)
    return out


def _nested(a: str, b: str) -> bool:
    return pointer_within(a, b) or pointer_within(b, a)

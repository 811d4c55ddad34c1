"""Validation short of building Keras layers: every independent mistake, each once, with its spec line.

The builder stops at its first problem; CI wants them all. So validation runs in three layers:

1. the JSON Schema, per file (collected for every file of an ``imports``/``extends`` chain);
2. the static pass (:func:`archspec.lang.checks.check_spec`);
3. full expansion with shape inference, once per head the spec declares, whose error is kept unless it
   restates one already found.

The static pass and the builder apply the same rules (:mod:`archspec.lang.rules`). Pure Python.
"""

from __future__ import annotations

import re
from pathlib import Path

from archspec.errors import Diagnostic, SpecError, with_notes
from archspec.graph.builder import BuildOptions, body_mentions, expand_heads
from archspec.lang.checks import check_spec, unique
from archspec.lang.compose import Spec, SpecCache, load_spec, reference_note, reference_path, references
from archspec.lang.yaml_loader import pointer_within
from archspec.limits import DEFAULT_LIMITS, Limits

_WEIGHTS = re.compile(r"\bweights\b")  # the build option a network's layers may depend on (docs/spec-language.md)


def validate_file(path: str | Path, limits: Limits = DEFAULT_LIMITS, cache: SpecCache | None = None,
                  options: BuildOptions | None = None) -> list[Diagnostic]:
    """Every problem in one spec file (a network is expanded; a ``kind: library`` file is checked statically)."""
    path = Path(path)
    cache = cache if cache is not None else SpecCache(collect=True)
    try:
        spec = load_spec(path, None, limits, cache)
    except SpecError as exc:
        return unique([*_chain_problems(path, cache), *exc.diagnostics])
    chain = _chain_problems(path, cache)
    found = validate_spec(spec, limits, options, expand_graph=not any(d.severity == "error" for d in chain))
    return _sorted(unique([*chain, *(d for d in found if not _inside(d, chain))]), str(path))


def validate_spec(spec: Spec, limits: Limits = DEFAULT_LIMITS, options: BuildOptions | None = None,
                  expand_graph: bool = True) -> list[Diagnostic]:
    """Static checks, then (for a schema-valid network) expansion for every head it declares."""
    found = check_spec(spec, limits)
    if not expand_graph or spec.data.get("kind", "network") != "network":
        return found
    runs = [options] if options is not None else validation_runs(spec)
    graphs = expand_heads(spec, runs, limits)
    for _ in runs:
        try:
            next(graphs)
        except SpecError as exc:
            if not _covered(exc.diagnostics[0], found):  # the builder's error, then its notes
                found += exc.diagnostics
            break
    return unique(found)


def validation_runs(spec: Spec) -> list[BuildOptions]:
    """The build options validation expands a network with: the default build, every other head it declares,
    and each published-weights variant when the body names ``weights`` (layers only those weights add)."""
    runs = [BuildOptions()]
    if isinstance(spec.data.get("head"), dict):
        runs += [BuildOptions(include_top=False, pooling=None if p == "none" else p) for p in ("avg", "max", "none")
                 if p in spec.data["head"]]
    if isinstance(spec.data.get("published"), dict) and body_mentions(spec, _WEIGHTS):
        runs += [BuildOptions(weights=name) for name in spec.data["published"]]
    return runs


def _sorted(diags: list[Diagnostic], own: str) -> list[Diagnostic]:
    """By position: this file's problems first, then those of the files it names (each followed by its notes)."""
    def key(group: list[Diagnostic]) -> tuple:
        loc = group[0].location
        return (loc is None or loc.file != own, loc.file if loc else "", loc.line or 0 if loc else 0,
                loc.col or 0 if loc else 0)

    return [d for group in sorted(with_notes(diags), key=key) for d in group]


def _covered(diag: Diagnostic, found: list[Diagnostic]) -> bool:
    """Whether ``diag`` (from expansion) restates a problem already reported for the same spot (where the
    rule fired: a library template's line, not the call site it is reported at)."""
    loc = diag.origin or diag.location
    for other in found:
        if other.severity != "error" or other.location is None or loc is None or other.location.file != loc.file:
            continue
        if other.location.line == loc.line and loc.line is not None:
            return True
        a, b = diag.pointer or "", other.pointer or ""
        if a and b and (pointer_within(a, b) or pointer_within(b, a)):
            return True
    return False


def _inside(diag: Diagnostic, schema_problems: list[Diagnostic]) -> bool:
    """Whether a static finding lies in a value the schema already rejected (same file, same subtree)."""
    a = diag.pointer or ""
    for other in schema_problems:
        b = other.pointer or ""
        if b and other.location and diag.location and other.location.file == diag.location.file and \
                pointer_within(a, b):
            return True
    return False


def _chain_problems(path: Path, cache: SpecCache) -> list[Diagnostic]:
    """Schema problems of ``path`` and of every file it imports or extends, with a note where each is named."""
    out: list[Diagnostic] = []
    seen: set[Path] = set()

    def visit(file: Path, named_at: Diagnostic | None) -> None:
        try:
            key = file.resolve()
        except (OSError, RuntimeError):  # a symlink loop: loading it already reported where it is named
            return
        if key in seen or key not in cache.docs:
            return
        seen.add(key)
        problems = cache.problems.get(key, [])
        out.extend(problems)
        if problems and named_at is not None:
            out.append(named_at)
        doc = cache.docs[key]
        for rel, at in references(doc.data):
            visit(reference_path(file, rel), reference_note(doc, rel, at))

    visit(path, None)
    return out

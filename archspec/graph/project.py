"""A project's specs validated together: every file's problems, and each ``kind: library`` file also checked
through the networks of its tree that import it (the pre-commit case: only the changed library is passed).
Pure Python; ``archspec validate`` formats what this returns (:func:`archspec.api.validate_files`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from archspec.errors import Diagnostic, Location, SpecError, with_notes
from archspec.graph.validate import validate_file
from archspec.lang.checks import unique
from archspec.lang.compose import (SpecCache, looks_like_spec, reference_note, reference_path, references,
                                   spec_root)
from archspec.lang.sources import unreadable
from archspec.lang.yaml_loader import load_document
from archspec.limits import DEFAULT_LIMITS, Limits

Check = Callable[[Path], list[Diagnostic]]


def validate_files(files: list[Path], limits: Limits = DEFAULT_LIMITS,
                   on_error: Callable[[Path, Exception], list[Diagnostic]] | None = None) -> dict[Path, list[Diagnostic]]:
    """Every problem of each file, libraries also through the networks that import them (notes at each naming
    line). ``on_error`` turns an unexpected exception (an archspec bug) into the file's diagnostics, so the
    other files are still checked; without it the exception propagates."""
    cache = SpecCache(collect=True)

    def check(path: Path) -> list[Diagnostic]:
        try:
            return unreadable(path) or validate_file(path, limits, cache)
        except Exception as exc:
            if on_error is None:
                raise
            return on_error(path, exc)

    results = {path: check(path) for path in files}
    readable = {path: diags for path, diags in results.items() if not unreadable(path)}  # no symlink loops
    through_networks(readable, check, cache, limits)
    results.update(readable)
    return results


SCAN_LIMIT = 5000  # YAML files looked at when searching a tree for the networks importing a library
SKIP_DIRS = frozenset(("node_modules", "__pycache__", "site-packages", "venv", "build", "dist"))


def through_networks(results: dict[Path, list[Diagnostic]], check: Check, cache: SpecCache,
                     limits: Limits) -> None:
    """Check each ``kind: library`` file through the networks of its tree that import it; add notes.

    A library's names (``4 * filtres``) can only be checked where a network gives them meaning, so a
    library validated alone (the pre-commit case: only the changed file is passed) is also checked
    through every network under its root (the git checkout, else the current folder, else its own) that
    imports it, directly or through other libraries. Their errors join the library's report (only those
    located in the library when that network is validated in this run anyway, since it reports the rest);
    each importing network gets a ``note:`` at its ``imports`` line. Every network's errors in a file it names get the same note at the naming line.
    """
    index = _Importers(cache, limits)
    checked = {p.resolve(): d for p, d in results.items()}
    for lib in list(results):
        if _kind(cache, lib) != "library":
            continue
        importers = index.networks_importing(lib)
        found = list(results[lib])
        if not importers and not any(d.severity == "error" for d in found):
            found.append(Diagnostic(f"no network under {index.root_of(lib)} imports this library; names in its "
                                    "templates are checked where a network imports it", Location(str(lib)),
                                    severity="note"))
        for net in importers:
            key = net.resolve()
            own = key in checked
            diags = checked[key] if own else checked.setdefault(key, check(net))
            errors = [d for d in diags if d.severity == "error"]
            found += [d for group in with_notes(diags) if group[0].severity == "error"
                      and (not own or _located_in(group[0], lib)) for d in group]  # a checked network reports its own
            found += _notes(net, errors, cache)
        results[lib] = unique(found)
    for path, diags in results.items():
        results[path] = unique([*diags, *_notes(path, [d for d in diags if d.severity == "error"], cache)])


def _shown(path: Path) -> Path:
    """``path`` relative to the current folder when it is below it (as the user would type it)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _located_in(diag: Diagnostic, path: Path) -> bool:
    loc = diag.location
    return loc is not None and loc.line is not None and Path(loc.file).resolve() == path.resolve()


def _kind(cache, path: Path) -> str | None:
    doc = cache.docs.get(path.resolve())
    return doc.data.get("kind", "network") if doc is not None and isinstance(doc.data, dict) else None


def _target(file: Path, rel: str) -> Path | None:
    try:
        return reference_path(file, rel).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _notes(path: Path, errors: list[Diagnostic], cache) -> list[Diagnostic]:
    """A note at each ``imports``/``extends`` line of ``path`` that leads to a file with one of ``errors``."""
    doc = cache.docs.get(path.resolve())
    if doc is None:
        return []
    bad = {Path(d.location.file).resolve() for d in errors if d.location and d.location.line is not None}
    bad.discard(path.resolve())
    out = []
    for rel, at in references(doc.data) if bad else []:
        target = _target(path, rel)
        if target is not None and _closure(target, cache) & bad:
            out.append(reference_note(doc, rel, at))
    return out


def _closure(start: Path, cache) -> set[Path]:
    """``start`` and every loaded file it reaches through imports and extends."""
    seen, stack = set(), [start]
    while stack:
        file = stack.pop()
        if file in seen:
            continue
        seen.add(file)
        doc = cache.docs.get(file)
        for rel, _ in references(doc.data if doc is not None else None):
            target = _target(file, rel)
            if target is not None:
                stack.append(target)
    return seen


def _may_import(file: Path, max_bytes: int) -> bool:
    """Whether a spec file's text could hold an ``imports`` key: the word, or an escape that could spell it
    (a key is UTF-8 text; YAML folds a broken line with a space, and only escapes make other letters)."""
    try:
        with open(file, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError:
        return True  # parsing it says what is wrong
    return b"imports" in raw or b"\\" in raw


class _Importers:
    """Which files import which, for the spec files under a root (walked once per run, lazily)."""

    def __init__(self, cache, limits) -> None:
        self.cache = cache
        self.limits = limits
        self.importers: dict[Path, list[Path]] = {}
        self.kinds: dict[Path, str] = {}
        self.walked: set[Path] = set()

    def root_of(self, lib: Path) -> Path:
        return spec_root(lib)

    def networks_importing(self, lib: Path) -> list[Path]:
        self._walk(self.root_of(lib))
        out, seen, queue = [], set(), [lib.resolve()]
        while queue:
            target = queue.pop(0)
            for file in self.importers.get(target, []):
                key = file.resolve()
                if key in seen:
                    continue
                seen.add(key)
                if self.kinds.get(key) == "library":
                    queue.append(key)
                else:
                    out.append(file)
        return out

    def _walk(self, root: Path) -> None:
        if root in self.walked:
            return
        self.walked.add(root)
        seen = 0
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
            for name in sorted(n for n in names if n.endswith((".yaml", ".yml"))):
                seen += 1
                if seen > SCAN_LIMIT:
                    return
                file = _shown(Path(folder) / name)
                if not looks_like_spec(file, self.limits.file_bytes):
                    continue
                key = file.resolve()
                doc = self.cache.docs.get(key)  # validated in this run: parsed once
                if doc is None and not _may_import(file, self.limits.file_bytes):
                    continue  # imports nothing, so it leads to no library (and its kind is never asked)
                try:
                    data = (doc if doc is not None else load_document(file, self.limits)).data
                except SpecError:
                    continue
                self.kinds[key] = data.get("kind", "network") if isinstance(data, dict) else "?"
                for rel, at in references(data):
                    target = _target(file, rel)
                    if at[0] == "imports" and target is not None:
                        self.importers.setdefault(target, []).append(file)

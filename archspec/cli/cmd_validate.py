"""``archspec validate PATH...``: check specs without importing TensorFlow (for CI and pre-commit).

Every file is checked and every problem reported in one run (schema, static checks, then expansion with
shape inference). Exit status: 0 all valid, 1 some spec invalid, 2 usage error (bad option, a path that
does not exist, nothing to check), 3 internal error (an archspec bug; the other files are still checked).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

from archspec.cli.common import add_limits
from archspec.cli.output import FORMATS, Reporter, default_format
from archspec.errors import Diagnostic, Location, with_notes
from archspec.lang.sources import expand_glob
from archspec.limits import DEFAULT_LIMITS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check spec files (files, directories, globs) without TensorFlow",
                       description="Check spec files: files, directories (every *.yaml/*.yml below them) and "
                                   "glob patterns. Exit status 0 all valid, 1 some invalid, 2 usage error.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    p.add_argument("--skip-non-specs", action="store_true",
                   help="skip, with a note, YAML files without a top-level 'archspec:' key (CI configs, "
                        "workflows), unless a near-miss of it or 'stages:'/'templates:' says it is a spec that "
                        "lost it; the pre-commit hook uses this")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="text (default), json (one object per file), github (workflow annotations; the "
                        "default when GITHUB_ACTIONS=true) or sarif (SARIF 2.1.0, for GitHub code scanning)")
    add_limits(p)
    p.set_defaults(run=run)


def collect(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files named, ``*.yaml``/``*.yml`` under directories (recursively), and glob matches, once each.

    Returns the files and the arguments that matched nothing (a usage error).
    """
    out: dict[Path, None] = {}
    missing: list[str] = []
    for raw in paths:
        if glob.has_magic(raw):
            matches = expand_glob(raw)
        else:
            matches = [Path(raw)] if os.path.lexists(raw) else []
        if not matches:
            missing.append(raw)
        for path in matches:
            if path.is_dir():
                for found in sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]):
                    out.setdefault(found, None)
            else:
                out.setdefault(path, None)
    return list(out), missing


def run(args: argparse.Namespace) -> int:
    from archspec.graph.validate import validate_file
    from archspec.lang.compose import SpecCache
    from archspec.lang.sources import unreadable

    try:
        limits = DEFAULT_LIMITS.with_overrides(dict(args.limit))
    except ValueError as exc:
        print(f"archspec validate: error: {exc}", file=sys.stderr)
        return 2
    files, missing = collect(args.paths)
    for raw in missing:
        kind = "pattern matches no file" if glob.has_magic(raw) else "no such file or directory"
        print(f"archspec validate: error: {kind}: {raw}", file=sys.stderr)
    if missing:
        return 2
    if not files:
        print("archspec validate: error: no *.yaml or *.yml files found", file=sys.stderr)
        return 2
    reporter = Reporter(args.format or default_format(), sys.stdout, args.quiet)
    cache = SpecCache(collect=True)
    failed = internal = 0
    files, skipped = skip_non_specs(files, args.skip_non_specs, reporter)

    def check(path: Path) -> list[Diagnostic]:
        nonlocal internal
        try:
            diags = unreadable(path) or validate_file(path, limits, cache)
        except Exception as exc:  # an archspec bug: say so, keep checking the other files
            if os.environ.get("ARCHSPEC_DEBUG"):
                raise
            internal += 1
            diags = [Diagnostic(f"internal error: {type(exc).__name__}: {exc} (please report; set "
                                "ARCHSPEC_DEBUG=1 for a traceback)", Location(str(path)))]
        return diags

    results = {path: check(path) for path in files}
    readable = {path: diags for path, diags in results.items() if not unreadable(path)}  # no symlink loops
    through_networks(readable, check, cache, limits)
    results.update(readable)
    for path in files:
        diags = results[path]
        if any(d.severity == "error" for d in diags):
            failed += 1
        reporter.file(str(path), diags)
    reporter.finish()
    if reporter.fmt not in ("json", "sarif") and (failed or not args.quiet):
        more = f" ({len(skipped)} skipped: not archspec specs)" if skipped else ""
        print(f"{len(files) - failed} of {len(files)} spec(s) valid{more}", file=sys.stderr)
    return 3 if internal else 1 if failed else 0


# ------------------------------------------------------------------------------- files that are not specs

SKIPPED = "skipped: not an archspec spec (no top-level 'archspec:' key)"


def skip_non_specs(files: list[Path], skip: bool, reporter: Reporter) -> tuple[list[Path], list[Path]]:
    """With ``--skip-non-specs``, the files that look like specs, and those skipped (each with a note)."""
    if not skip:
        return files, []
    from archspec.lang.compose import looks_like_spec

    keep, skipped = [], []
    for path in files:
        (keep if looks_like_spec(path, near=True) else skipped).append(path)
    for path in skipped:
        if reporter.fmt in ("json", "sarif"):
            reporter.file(str(path), [Diagnostic(SKIPPED, Location(str(path)), severity="note")])
        elif reporter.fmt == "text" and not reporter.quiet:
            print(f"{path}: note: {SKIPPED}", file=reporter.out)
    return keep, skipped


# ------------------------------------------------------------------------------- libraries

SCAN_LIMIT = 5000  # YAML files looked at when searching a tree for the networks importing a library
SKIP_DIRS = frozenset(("node_modules", "__pycache__", "site-packages", "venv", "build", "dist"))


def through_networks(results: dict[Path, list[Diagnostic]], check, cache, limits) -> None:
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
        results[lib] = _unique(found)
    for path, diags in results.items():
        results[path] = _unique([*diags, *_notes(path, [d for d in diags if d.severity == "error"], cache)])


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


def _refs(data: object) -> list[tuple[str, tuple]]:
    """``(rel, json path)`` for each ``imports`` entry and the ``extends`` of a document's data."""
    if not isinstance(data, dict):
        return []
    out: list[tuple[str, tuple]] = []
    if isinstance(data.get("imports"), list):
        out += [(rel, ("imports", i)) for i, rel in enumerate(data["imports"]) if isinstance(rel, str)]
    if isinstance(data.get("extends"), str):
        out.append((data["extends"], ("extends",)))
    return out


def _target(file: Path, rel: str) -> Path | None:
    from archspec.lang.compose import reference_path

    try:
        return reference_path(file, rel).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _notes(path: Path, errors: list[Diagnostic], cache) -> list[Diagnostic]:
    """A note at each ``imports``/``extends`` line of ``path`` that leads to a file with one of ``errors``."""
    from archspec.lang.yaml_loader import json_pointer

    doc = cache.docs.get(path.resolve())
    if doc is None:
        return []
    bad = {Path(d.location.file).resolve() for d in errors if d.location and d.location.line is not None}
    bad.discard(path.resolve())
    out = []
    for rel, at in _refs(doc.data) if bad else []:
        target = _target(path, rel)
        if target is not None and _closure(target, cache) & bad:
            out.append(Diagnostic(f"'{rel}' (named by '{at[0]}' here) has errors", doc.where(at), json_pointer(at),
                                  severity="note"))
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
        for rel, _ in _refs(doc.data if doc is not None else None):
            target = _target(file, rel)
            if target is not None:
                stack.append(target)
    return seen


def _unique(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: dict[tuple, Diagnostic] = {}
    for d in diags:
        seen.setdefault((d.location, d.message, d.severity), d)
    return list(seen.values())


class _Importers:
    """Which files import which, for the spec files under a root (walked once per run, lazily)."""

    def __init__(self, cache, limits) -> None:
        self.cache = cache
        self.limits = limits
        self.importers: dict[Path, list[Path]] = {}
        self.kinds: dict[Path, str] = {}
        self.walked: set[Path] = set()

    def root_of(self, lib: Path) -> Path:
        from archspec.lang.compose import spec_root

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
        from archspec.errors import SpecError
        from archspec.lang.compose import looks_like_spec
        from archspec.lang.yaml_loader import load_document

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
                try:
                    data = load_document(file, self.limits).data
                except SpecError:
                    continue
                key = file.resolve()
                self.kinds[key] = data.get("kind", "network") if isinstance(data, dict) else "?"
                for rel, at in _refs(data):
                    target = _target(file, rel)
                    if at[0] == "imports" and target is not None:
                        self.importers.setdefault(target, []).append(file)

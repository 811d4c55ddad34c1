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
from archspec.errors import Diagnostic, Location
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
    from archspec.lang.sources import expand_glob

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
    from archspec.api import validate_files
    from archspec.graph.builder import gc_paused

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
    failed = internal = 0
    files, skipped = skip_non_specs(files, args.skip_non_specs, reporter)

    def internal_error(path: Path, exc: Exception) -> list[Diagnostic]:  # an archspec bug: say so, keep going
        nonlocal internal
        if os.environ.get("ARCHSPEC_DEBUG"):
            raise exc
        internal += 1
        return [Diagnostic(f"internal error: {type(exc).__name__}: {exc} (please report; set "
                           "ARCHSPEC_DEBUG=1 for a traceback)", Location(str(path)))]

    with gc_paused():  # as commands that expand do: 8-10% of the run; 4 MB more peak memory on the 150-file zoo
        results = validate_files(files, limits, internal_error)
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
    from archspec.api import looks_like_spec

    keep, skipped = [], []
    for path in files:
        (keep if looks_like_spec(path, near=True) else skipped).append(path)
    for path in skipped:
        if reporter.fmt in ("json", "sarif"):
            reporter.file(str(path), [Diagnostic(SKIPPED, Location(str(path)), severity="note")])
        elif reporter.fmt == "text" and not reporter.quiet:
            print(f"{path}: note: {SKIPPED}", file=reporter.out)
    return keep, skipped

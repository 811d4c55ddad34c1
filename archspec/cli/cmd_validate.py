"""``archspec validate PATH...``: check specs without importing TensorFlow (for CI and pre-commit)."""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from archspec.cli.common import add_limits, limits_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check spec files (files, directories, globs)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    add_limits(p)
    p.set_defaults(run=run)


def collect(paths: list[str]) -> list[Path]:
    """Files named, ``*.yaml``/``*.yml`` under directories (recursively), and glob matches, once each."""
    out: dict[Path, None] = {}
    for raw in paths:
        matches = [Path(m) for m in sorted(glob.glob(raw, recursive=True))] if glob.has_magic(raw) else [Path(raw)]
        for path in matches:
            if path.is_dir():
                for found in sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]):
                    out.setdefault(found, None)
            else:
                out.setdefault(path, None)
    return list(out)


def run(args: argparse.Namespace) -> int:
    from archspec.api import validate_file
    from archspec.spec.compose import SpecCache

    limits = limits_from(args)
    files = collect(args.paths)
    if not files:
        print("archspec: error: no spec files found", file=sys.stderr)
        return 2
    cache = SpecCache()
    failed = 0
    for path in files:
        diags = validate_file(path, limits, cache)
        if diags:
            failed += 1
            for d in diags:
                print(d.format())
        elif not args.quiet:
            print(f"{path}: ok")
    if not args.quiet or failed:
        print(f"{len(files) - failed} of {len(files)} spec(s) valid", file=sys.stderr)
    return 1 if failed else 0

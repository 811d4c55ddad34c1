"""``-o FILE`` for the commands that write one: checked before any work, written atomically after.

A refused path (a missing folder, an unsupported suffix, one of the run's own input files) is a usage
error: ``archspec: error: ...`` and exit 2, before the spec is expanded or TensorFlow is imported.
Writing goes through :mod:`archspec.fileio`, so a failed or interrupted write never damages the file
that was there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Iterable

from archspec.errors import printable
from archspec.fileio import OutputRefused, check_output


def output_target(args: argparse.Namespace, path: str | None, suffixes: Iterable[str] | None = None,
                  extra_inputs: Iterable[str | None] = (), input_folders: Iterable[Path] = ()) -> Path | None:
    """The checked destination of ``-o path`` (``None`` without ``-o``); exits 2 when it is refused.

    ``extra_inputs`` are other files the run reads (``--weights``); the spec and every file it
    imports or extends are found by loading it (a broken spec reports its own errors, exit 1).
    ``input_folders`` are folders the run may read any file of (the published-weights caches).
    """
    if path is None:
        return None
    suffixes = tuple(suffixes) if suffixes is not None else None
    try:
        real = check_output(path, (), suffixes)  # the cheap checks first: nothing is loaded for a typo
        for folder in input_folders:
            if real.is_relative_to(os.path.realpath(folder)):
                raise OutputRefused(f"refusing to write output {printable(path)}: it is in {printable(folder)}, "
                                    "which this run reads its weights from; choose another file")
        return check_output(path, [*spec_inputs(args), *(p for p in extra_inputs if p)] if hasattr(args, "spec") else (),
                            suffixes)
    except OutputRefused as exc:
        print(f"archspec: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def spec_inputs(args: argparse.Namespace) -> list[Path]:
    """The spec file of ``args.spec`` and every file it imports or extends."""
    from archspec.cli.common import limits_from
    from archspec.lang.compose import SpecCache, load_spec
    from archspec.lang.sources import resolve_source

    cache = SpecCache()
    load_spec(args.spec, None, limits_from(args), cache)
    return [resolve_source(args.spec), *cache.docs]

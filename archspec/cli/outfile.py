"""``-o FILE`` for the commands that write one: checked before any work, written atomically after.

A refused path (a missing folder, an unsupported suffix, one of the run's own input files) is a usage
error: ``archspec: error: ...`` and exit 2, before the spec is expanded or TensorFlow is imported.
Writing goes through :mod:`archspec.fileio`, so a failed or interrupted write never damages the file
that was there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable

from archspec.errors import printable
from archspec.fileio import OutputRefused, check_output


def output_target(path: str | None, suffixes: Iterable[str] | None = None,
                  inputs: Iterable[str | Path | None] | None = None, input_folders: Iterable[Path] = ()) -> Path | None:
    """The checked destination of ``-o path`` (``None`` without ``-o``); exits 2 when it is refused.

    ``inputs`` are the files the run reads (the spec and every file it imports or extends, from
    :func:`archspec.cli.common.load_from`, and a weight file); ``None`` checks only what needs no spec
    (suffix, folder, kind of file), which a command does first, so nothing is loaded for a typo.
    ``input_folders`` are folders the run may read any file of (the published-weights caches).
    """
    if path is None:
        return None
    try:
        real = check_output(path, [p for p in inputs or () if p], tuple(suffixes) if suffixes is not None else None)
        for folder in input_folders:
            if real.is_relative_to(os.path.realpath(folder)):
                raise OutputRefused(f"refusing to write output {printable(path)}: it is in {printable(folder)}, "
                                    "which this run reads its weights from; choose another file")
        return real
    except OutputRefused as exc:
        print(f"archspec: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

"""``archspec schema``: print (or write with ``-o``) the JSON Schema that editors and CI use."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the spec JSON Schema (or write it with -o)",
                       description="Print the spec JSON Schema. For editors outside this repository, write it "
                                   "once (archspec schema -o archspec.schema.json) and start each spec with "
                                   "'# yaml-language-server: $schema=archspec.schema.json' (a path relative "
                                   "to the spec).")
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.lang.schema import schema_text

    text = schema_text()
    if not args.output:
        sys.stdout.write(text)
        return 0
    target = Path(args.output)
    if not target.parent.is_dir():
        print(f"archspec schema: error: no such directory: {target.parent}", file=sys.stderr)
        return 1
    try:  # a temporary file beside the target, then a rename: never half a schema
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a schema is for everyone
        os.replace(tmp, target)
    except OSError as exc:
        print(f"archspec schema: error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        if "tmp" in locals() and os.path.exists(tmp):
            os.unlink(tmp)
        return 1
    print(f"wrote {target}", file=sys.stderr)
    return 0

"""``archspec schema``: print (or write with ``-o``) the JSON Schema that editors and CI use."""

from __future__ import annotations

import argparse
import sys
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
    from archspec.fileio import OutputRefused, check_output, write_bytes

    try:
        real = check_output(target)  # a directory, a FIFO or device...: refused like graph -o and build -o
    except OutputRefused as exc:
        print(f"archspec schema: error: {exc}", file=sys.stderr)
        return 2
    write_bytes(real, text.encode("utf-8"))  # a temporary file beside the target, then a rename
    print(f"wrote {target}", file=sys.stderr)
    return 0

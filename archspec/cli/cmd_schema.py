"""``archspec schema``: print (or write with ``-o``) the JSON Schema that editors and CI use."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the spec JSON Schema (or write it with -o)",
                       description="Print the spec JSON Schema. For editors outside this repository, write it "
                                   "once (archspec schema -o archspec.schema.json) and start each spec with "
                                   "'# yaml-language-server: $schema=archspec.schema.json' (a path relative "
                                   "to the spec).")
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.api import schema_text

    text = schema_text()
    if not args.output:
        sys.stdout.write(text)
        return 0
    from archspec.cli.outfile import output_target
    from archspec.fileio import write_bytes

    real = output_target(args.output, inputs=())  # refused like graph -o and build -o: exit 2
    write_bytes(real, text.encode("utf-8"))  # a temporary file beside the target, then a rename
    print(f"wrote {args.output}", file=sys.stderr)
    return 0

"""``archspec schema``: print the JSON Schema that editors and CI use."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the spec JSON Schema")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.lang.schema import schema_text

    sys.stdout.write(schema_text())
    return 0

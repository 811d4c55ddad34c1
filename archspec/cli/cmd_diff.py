"""``archspec diff A B``: layers added, removed and changed, params/MACs delta, which weights still load."""

from __future__ import annotations

import argparse
import json

from archspec.cli.common import add_spec_arguments, expand_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="structural diff of two specs at layer level")
    p.add_argument("a", metavar="A", help="spec file or bundled name")
    p.add_argument("b", metavar="B", help="spec file or bundled name")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 whether or not the specs differ (like a report, not like diff(1)); --set applies to both."""
    from archspec.export.diff import diff, format_text

    a, b = expand_from(args, args.a), expand_from(args, args.b)
    result = diff(a, b)
    print(json.dumps(result, indent=1) if args.format == "json" else format_text(result, a, b))
    return 0

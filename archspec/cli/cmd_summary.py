"""``archspec summary SPEC``: per-stage output shape, layers, params and MACs, without TensorFlow."""

from __future__ import annotations

import argparse
import json

from archspec.cli.common import add_spec_arguments, expand_from, load_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="params and MACs per stage")
    p.add_argument("spec", help="spec file or bundled name (e.g. resnet50)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.export.summary import format_table, summarize

    summary = summarize(expand_from(args, load_from(args, args.spec)[0]))
    print(json.dumps(summary, indent=1) if args.format == "json" else format_table(summary))
    return 0

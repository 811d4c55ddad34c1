"""``archspec diff A B``: layers added, removed and changed, params/MACs delta, which weights still load."""

from __future__ import annotations

import argparse
import json

from archspec.cli.common import add_spec_arguments, expand_from, load_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="structural diff of two specs at layer level",
                       description="Compare two specs layer by layer: layers added, removed, changed and rewired, "
                                   "params and MACs, and which of A's weights load into B. --set, the build "
                                   "options and --limit apply to both sides (A and B). Exit status 0, or with "
                                   "--exit-code 1 when the layer graphs differ (as git diff --exit-code); an invalid "
                                   "spec is exit 1 too, with its error on stderr.")
    p.add_argument("a", metavar="A", help="spec file or bundled name")
    p.add_argument("b", metavar="B", help="spec file or bundled name")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 when the layer graphs differ, 0 when they do not (as git diff --exit-code)")
    add_spec_arguments(p)
    for action in p._actions:  # the shared --set help, said for two specs
        if action.dest == "overrides":
            action.help = "override a value in both A and B, e.g. stages.conv4.repeat=23 (repeatable)"
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0, or with ``--exit-code`` 1 when the layer graphs differ; --set applies to both sides."""
    from archspec.api import SpecCache
    from archspec.export.diff import diff, format_text

    cache = SpecCache()  # files A and B share (their libraries, a common base) are read once
    a, b = (expand_from(args, load_from(args, source, cache)[0]) for source in (args.a, args.b))
    result = diff(a, b)
    print(json.dumps(result, indent=1) if args.format == "json" else format_text(result, a, b))
    return 1 if args.exit_code and differs(result) else 0


def differs(result: dict) -> bool:
    """Whether a diff result shows any structural change (model names aside)."""
    return bool(result["added"] or result["removed"] or result["changed"] or result["rewired"]
                or any(t["delta"] for t in result["totals"].values()))

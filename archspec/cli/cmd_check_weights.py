"""``archspec check-weights SPEC FILE``: does a Keras weight file (legacy ``.h5``, full-model ``.h5`` or Keras 3
``.weights.h5``) load fully? (h5py only, no TensorFlow)."""

from __future__ import annotations

import argparse
import json

from archspec.cli.common import add_spec_arguments, expand_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-weights", help="check a Keras weight file (.h5, .weights.h5) against a spec")
    p.add_argument("spec", help="spec file or bundled name (e.g. resnet50)")
    p.add_argument("file", metavar="FILE.h5", help="legacy weights file, full-model .h5 or Keras 3 .weights.h5")
    p.add_argument("--mode", choices=("auto", "order", "name"), default="auto",
                   help="pairing: by order, by name, or auto (order, then name)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the file loads fully in some mode tried, 1 otherwise."""
    from archspec.export.weight_check import format_text, to_json
    from archspec.weights.match import check_weights

    graph = expand_from(args, args.spec)
    result = check_weights(graph, args.file, args.mode)
    print(json.dumps(to_json(result, graph), indent=1) if args.format == "json" else format_text(result, graph))
    return 0 if result.loads else 1

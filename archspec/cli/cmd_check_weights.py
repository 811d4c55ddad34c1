"""``archspec check-weights SPEC FILE``: does a Keras weight file (legacy ``.h5``, full-model ``.h5`` or Keras 3
``.weights.h5``) load fully? (h5py only, no TensorFlow)."""

from __future__ import annotations

import argparse
import json

from archspec.cli.common import add_adapt_channels, add_spec_arguments, expand_from, load_from
from archspec.graph.ir import Graph


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-weights", help="check a Keras weight file (.h5, .weights.h5) or a PyTorch checkpoint "
                       "(.pth, .safetensors) against a spec")
    p.add_argument("spec", help="spec file or bundled name (e.g. resnet50)")
    p.add_argument("file", metavar="FILE", help="legacy weights file, full-model .h5 or Keras 3 .weights.h5; or a "
                   "PyTorch checkpoint (.pth/.pt needs torch, .safetensors is read with numpy): prints the transfer "
                   "plan of the spec's checkpoint keys")
    p.add_argument("--mode", choices=("auto", "order", "name"), default="auto",
                   help="pairing: by order, by name, or auto (order, then name)")
    p.add_argument("--by-name", dest="mode", action="store_const", const="name", help="as build --by-name: --mode name")
    p.add_argument("--allow-partial", action="store_true", help="as build --allow-partial: layers the file lacks (or "
                   "the checkpoint does not fill) keep their initial weights")
    add_adapt_channels(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when ``build`` with the same options would load the file (in some mode tried), 1 otherwise."""
    from archspec.export.weight_check import format_text, to_json
    from archspec.weights.match import check_weights
    from archspec.progress import stage
    from archspec.weights.torch_file import sniff

    graph = expand_from(args, load_from(args, args.spec)[0])
    if sniff(args.file):
        return _checkpoint(args, graph)
    with stage(f"reading {args.file}"):
        result = check_weights(graph, args.file, args.mode, args.allow_partial, args.adapt_input_channels)
    print(json.dumps(to_json(result, graph), indent=1) if args.format == "json" else format_text(result, graph))
    return 0 if result.loads else 1


def _checkpoint(args: argparse.Namespace, graph: Graph) -> int:
    """The transfer plan of a PyTorch checkpoint; exit 0 when ``build --weights`` would load it."""
    from archspec.export.checkpoint_check import format_text, to_json, verdict
    from archspec.weights.torch_file import read_checkpoint
    from archspec.weights.torch_plan import plan_transfer

    checkpoint = read_checkpoint(args.file)
    plan = plan_transfer(graph, checkpoint.shapes, checkpoint.path, args.adapt_input_channels)
    print(json.dumps(to_json(plan, graph, checkpoint.format, args.allow_partial), indent=1) if args.format == "json"
          else format_text(plan, graph, checkpoint.format, args.allow_partial))
    return 1 if verdict(plan, graph, args.allow_partial) == "fail" else 0

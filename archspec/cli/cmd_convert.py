"""``archspec convert SPEC IN.pth -o OUT.weights.h5``: a PyTorch checkpoint as a Keras weight file, through the
spec's checkpoint keys (h5py and numpy, plus torch for .pth; no TensorFlow)."""

from __future__ import annotations

import argparse
import sys

from archspec.cli.common import add_adapt_channels, add_spec_arguments, expand_from, load_from
from archspec.cli.outfile import output_target


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a PyTorch checkpoint (.pth, .safetensors) to a Keras weight file")
    p.add_argument("spec", help="spec file or bundled name that declares a checkpoint family (e.g. resnet50_torch)")
    p.add_argument("checkpoint", metavar="IN", help="PyTorch state_dict or checkpoint: .pth/.pt (needs torch) or "
                   ".safetensors")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="Keras weight file: .weights.h5 (Keras 3, model.load_weights) or .h5 (legacy layout)")
    p.add_argument("--allow-partial", action="store_true", help="write what maps when layers get nothing")
    add_adapt_channels(p)
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.progress import stage
    from archspec.weights.torch_file import read_checkpoint
    from archspec.weights.torch_plan import convert, skipped

    output_target(args.output, (".h5",))  # before any work
    spec, inputs = load_from(args, args.spec)
    output_target(args.output, (".h5",), [*inputs, args.checkpoint])
    graph = expand_from(args, spec)
    with stage(f"reading {args.checkpoint}"):
        checkpoint = read_checkpoint(args.checkpoint)
    with stage(f"writing {args.output}"):
        plan = convert(graph, checkpoint, args.output, args.allow_partial, args.adapt_input_channels)
    note = skipped(plan, graph)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    print(f"wrote {args.output}: {len(plan.mapped)} layers with weights from {sum(len(m) for _, m in plan.mapped)} "
          f"tensors of {args.checkpoint}")
    return 0

"""``archspec build SPEC``: compile to a Keras model, optionally load weights and save it."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from archspec.cli.common import (add_keras_arguments, add_weight_loading, build_options, limits_from, load_from,
                                 select_backend)
from archspec.cli.outfile import output_target
from archspec.cli.quiet import quiet_tensorflow
from archspec.errors import printable
from archspec.fileio import replacing
from archspec.progress import stage


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build the Keras model of a spec")
    p.add_argument("spec", help="spec file or bundled name (e.g. resnet50)")
    p.add_argument("-o", "--output", help="write the model (.keras)")
    p.add_argument("--weights", help="weights to load: 'imagenet' (the spec's published files, from the Keras "
                   "cache or downloaded over HTTPS and hash-checked), a Keras weight file (legacy .h5 or Keras 3 .weights.h5) or a PyTorch checkpoint (.pth, "
                   ".safetensors) mapped by the spec's checkpoint keys; with a new --classes "
                   "everything but the classifier loads")
    add_weight_loading(p)
    p.add_argument("--features", metavar="LEVELS", help="the backbone's feature maps instead of the classifier: "
                   "pyramid levels the spec taps, e.g. P3,P4,P5, or 'all' (docs/dense-prediction.md)")
    add_keras_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    select_backend(args.backend)  # before anything imports Keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from archspec.weights.published import cache_folders

    output_target(args.output, (".keras", ".h5"))  # before any work
    spec, inputs = load_from(args, args.spec)
    published = args.weights == "imagenet"  # read from the caches, never written over by -o
    output = output_target(args.output, (".keras", ".h5"), [*inputs, *([] if published else [args.weights])],
                           cache_folders() if published else ())
    model = build_from(args, spec)
    weighted = sum(1 for layer in model.layers if layer.weights)
    print(f"{spec_label(spec)}: {len(model.layers)} layers, {weighted} with weights, {model.count_params():,} params, "
          f"{_outputs_text(model.output)}")
    if output:
        with replacing(output) as tmp, stage(f"saving {args.output}"):  # Keras picks the format from the suffix
            model.save(tmp)
        print(f"wrote {args.output} ({output.stat().st_size / 1e6:.1f} MB)")
    return 0


def build_from(args: argparse.Namespace, spec: Any) -> Any:
    """The model the command line describes (the loaded spec, weights, options); weight-loading warnings go to
    stderr."""
    from archspec.api import build
    from archspec.backend.load import SkippedWeightsWarning  # pure Python until a build runs

    with quiet_tensorflow(args.verbose), warnings.catch_warnings(record=True) as caught, \
            stage(f"{spec_label(spec)}: importing Keras, expanding, loading weights"):
        warnings.simplefilter("always", SkippedWeightsWarning)  # TensorFlow is imported and initialised in here
        options = build_options(args)
        if getattr(args, "features", None):  # the backbone without its top: a dict of feature maps
            options.update(include_top=None, features=True if args.features == "all" else
                           [f.strip() for f in args.features.split(",") if f.strip()])
        model = build(spec, weights=args.weights, by_name=args.by_name, allow_partial=args.allow_partial,
                      adapt_input_channels=args.adapt_input_channels, limits=limits_from(args), **options)
    for warning in caught:
        if issubclass(warning.category, SkippedWeightsWarning):
            print(f"warning: {printable(warning.message)}", file=sys.stderr)
        else:  # recorded only to pick ours out: show the rest as Python would have
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return model


def spec_label(spec: Any) -> str:
    """The loaded spec as the summary line names it: its file's name (``efficientnet_v2_l``), not Keras's model
    name."""
    return Path(spec.file).stem


def _outputs_text(output: Any) -> str:
    """``output (None, 1000)``, or for named outputs ``outputs out (None, 8, 8, 21), aux ...``."""
    if isinstance(output, dict):
        return "outputs " + ", ".join(f"{k} {tuple(v.shape)}" for k, v in output.items())
    return f"output {tuple(output.shape)}"

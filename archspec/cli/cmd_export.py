"""``archspec export SPEC --format onnx|tflite|saved_model -o OUT [--verify]``: a deployable artefact.

Builds the model (with the weights and build options ``build`` takes), writes it with the route that works
on the active Keras backend (printed), atomically, and with ``--verify`` runs the artefact on a seeded probe
and fails (exit 1) when its maximum relative error against Keras exceeds ``--tolerance``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from archspec.cli.common import add_keras_arguments, add_weight_loading, load_from, select_backend
from archspec.cli.outfile import output_target
from archspec.progress import stage

FORMATS = ("onnx", "tflite", "saved_model")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a spec's model as ONNX, TFLite or a SavedModel, optionally verified",
                       description="Build the model and write it as ONNX (.onnx), TFLite (.tflite) or a TensorFlow "
                                   "SavedModel (a folder), with the route that works on the Keras backend; "
                                   "--verify runs the artefact and compares it with Keras.")
    p.add_argument("spec", help="spec file or bundled name (e.g. resnet50)")
    p.add_argument("--format", choices=FORMATS, required=True)
    p.add_argument("-o", "--output", required=True, help="the file (.onnx, .tflite) or folder (saved_model)")
    p.add_argument("--weights", help="weights to load, as for 'archspec build'")
    add_weight_loading(p)
    p.add_argument("--verify", action="store_true",
                   help="run the artefact (onnxruntime, the TFLite interpreter, the SavedModel's serving signature) "
                        "on a seeded probe and fail above --tolerance")
    p.add_argument("--tolerance", type=float, default=None, metavar="REL",
                   help="largest max relative error --verify accepts (default 1e-4)")
    add_keras_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    select_backend(args.backend)  # before anything imports Keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from archspec.backend import artifact
    from archspec.cli.cmd_build import build_from
    from archspec.cli.quiet import quiet_tensorflow

    _output(args, None)  # before any work: nothing is loaded for a typo
    spec, inputs = load_from(args, args.spec)
    out = _output(args, inputs)
    try:
        with quiet_tensorflow(args.verbose):
            route = artifact.route(_backend(), args.format, args.verify)
    except artifact.ExportRefused as exc:
        print(f"archspec export: error: {exc}", file=sys.stderr)
        return 1

    model = build_from(args, spec)
    print(f"{args.format}: {route}")
    classes = int(model.outputs[0].shape[-1]) if args.include_top and len(model.outputs[0].shape) == 2 else None
    with quiet_tensorflow(args.verbose), stage(f"exporting {args.format} ({route})"):
        probe, expected = artifact.probe(model)  # also the call Keras's ONNX export needs before it traces
        artifact.export(model, args.format, out, artifact.metadata(spec, tuple(model.inputs[0].shape)[1:], classes))
    print(f"wrote {args.output} ({artifact.size(out) / 1e6:.1f} MB)")
    if not args.verify:
        return 0
    tolerance = artifact.TOLERANCE if args.tolerance is None else args.tolerance
    with quiet_tensorflow(args.verbose), stage(f"verifying {args.output}"):
        error = artifact.verify(args.format, out, probe, expected)
    verdict = "ok" if error <= tolerance else "FAIL"
    print(f"verify: max relative error {error:.2e} against Keras on a seeded probe (tolerance {tolerance:g}): "
          f"{verdict}")
    return 0 if verdict == "ok" else 1


def _output(args: argparse.Namespace, spec_files: list[Path] | None) -> Path:
    """The checked destination; a SavedModel is a folder, which may only replace another SavedModel.
    ``spec_files``: the files the loaded spec was read from (``None``: the checks that need no spec)."""
    from archspec.backend.artifact import SUFFIXES

    if SUFFIXES[args.format] is not None:
        weights = [] if args.weights == "imagenet" else [args.weights]  # published files stay in the caches
        return output_target(args.output, SUFFIXES[args.format], None if spec_files is None else
                             [*spec_files, *weights])
    out = Path(args.output)
    problem = None
    if not out.parent.resolve().is_dir():
        problem = f"folder {out.parent} does not exist"
    elif out.exists() and not (out.is_dir() and (out / "saved_model.pb").is_file()):
        problem = "it exists and is not a SavedModel folder (only a SavedModel is replaced)"
    if problem:
        print(f"archspec: error: cannot write SavedModel {args.output}: {problem}", file=sys.stderr)
        raise SystemExit(2)
    return out


def _backend() -> str:
    import keras

    return keras.backend.backend()


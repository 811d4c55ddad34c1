"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archspec.limits import DEFAULT_LIMITS, Limits


def _limit(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=INTEGER, got {text!r}")
    return name.strip(), int(value)


def add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", action="append", default=[], type=_limit, metavar="NAME=N",
                        help="raise or lower a resource limit, e.g. layers=200000 (see docs/spec-language.md)")
    parser.add_argument("--allow-path", action="append", default=[], metavar="DIR", dest="allow_path",
                        help="let imports/extends also reach files under DIR (by default they stay under the "
                             "spec's git checkout, else its folder, or name bundled files as archspec:NAME)")


def limits_from(args: argparse.Namespace) -> Limits:
    """The run's limits; an unknown limit name is a usage error (exit 2), like any bad option."""
    try:
        return DEFAULT_LIMITS.with_overrides(dict(args.limit))
    except ValueError as exc:
        print(f"archspec: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override a spec value, e.g. stages.conv4.repeat=23 (repeatable)")


def add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-top", dest="include_top", action="store_false", help="drop the classifier head")
    parser.add_argument("--pooling", choices=("avg", "max"), help="global pooling when --no-top")
    parser.add_argument("--classes", type=_positive, help="classifier size (default: the spec's)")
    parser.add_argument("--input-shape", type=_shape, metavar="H,W,C",
                        help="input shape, e.g. 160,160,3; read as C,H,W when Keras's image_data_format is "
                             "channels_first (build only)")
    parser.add_argument("--classifier-activation", type=_activation, default="softmax", metavar="NAME",
                        help="activation of the classifier (default softmax; 'none' for logits)")


def _activation(text: str) -> str | None:
    from archspec.ops import ACTIVATIONS

    if text.lower() in ("none", "null"):
        return None
    if text not in ACTIVATIONS:
        raise argparse.ArgumentTypeError(f"unknown activation {text!r}; one of: none, {', '.join(ACTIVATIONS)}")
    return text


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _shape(text: str) -> tuple:
    parts = text.split(",")
    try:
        dims = tuple(None if p.strip() in ("", "?", "None") else int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W,C integers, got {text!r}") from None
    if len(dims) != 3 or any(d is not None and d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"expected three positive sizes H,W,C, got {text!r}")
    if dims[2] is None:
        raise argparse.ArgumentTypeError(f"the channel count C must be a number (only H and W can be open), "
                                         f"got {text!r}")
    return dims


def build_options(args: argparse.Namespace) -> dict:
    return {"include_top": args.include_top, "pooling": args.pooling, "classes": args.classes,
            "input_shape": args.input_shape, "classifier_activation": args.classifier_activation}


def load_from(args: argparse.Namespace, source: str, cache: Any = None) -> tuple[Any, list[Path]]:
    """The spec ``source`` with the command line's overrides and limits, read once (through the API), and the
    files that load read: the spec and every file it imports or extends (what ``-o`` may not overwrite).
    A ``cache`` (an ``archspec.api.SpecCache``) shared by several loads reads the files they share once (``diff``);
    the files returned are then those of every load so far.

    ``summary``/``graph``/``build``/``check-weights``/``convert`` need a network: a library is a located
    error (exit 1)."""
    from archspec.api import SpecCache, load_spec
    from archspec.errors import Diagnostic, SpecError

    cache = SpecCache() if cache is None else cache
    spec = load_spec(source, args.overrides, limits_from(args), cache)
    if spec.data.get("kind") == "library":
        raise SpecError(Diagnostic(
            f"'{Path(spec.file).name}' is a template library (kind: library), not a network; this command needs "
            "a network", spec.where(("kind",)), "/kind",
            hint="check a library with 'archspec validate FILE'; run this command on a network that imports it"))
    return spec, list(cache.docs)


def blame_sets(args: argparse.Namespace, diagnostics: list) -> list:
    """Name the ``--set`` behind each diagnostic it causes (see :func:`archspec.lang.compose.blame_overrides`).

    Only on the error path: the spec is validated with and without the overrides, and a diagnostic that
    the overridden spec has and the plain one lacks names the ``--set``. Problems found later (a weight
    file that does not fit) are left alone.
    """
    overrides = getattr(args, "overrides", None)
    if not overrides:
        return diagnostics
    from archspec.api import load_spec, validate
    from archspec.errors import SpecError
    from archspec.lang.compose import blame_overrides

    limits = limits_from(args)
    for source in [getattr(args, k) for k in ("spec", "a", "b") if isinstance(getattr(args, k, None), str)]:
        try:
            spec = load_spec(source, overrides, limits)
            caused = {(d.location, d.message) for d in validate(spec, None, limits)}
            baseline = validate(source, None, limits)
        except SpecError:
            continue
        diagnostics = [blame_overrides([d], spec, baseline)[0] if (d.location, d.message) in caused else d
                       for d in diagnostics]
    return diagnostics


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """``--set``, the build options and ``--limit``: what every command that expands a spec accepts."""
    add_set(parser)
    add_build_options(parser)
    add_limits(parser)


def expand_from(args: argparse.Namespace, spec: Any) -> Any:
    """The typed layer graph of a loaded ``spec`` (:func:`load_from`) with the command line's options and limits.

    The garbage collector is paused while expanding: a CLI run is one short process, and it saves
    about a third of a large expansion (see :func:`archspec.graph.builder.gc_paused`).
    """
    from archspec.api import layer_graph
    from archspec.graph.builder import gc_paused
    from archspec.progress import stage

    with gc_paused(), stage(f"expanding {getattr(spec, 'name', spec)}"):
        return layer_graph(spec, None, limits_from(args), **build_options(args))


# --- Keras backend (``build --backend``) ---------------------------------------------------------------------

#: Keras backends archspec supports; each is also the package it needs and the extra that installs it.
BACKENDS = ("tensorflow", "jax", "torch")


def add_keras_arguments(parser: argparse.ArgumentParser) -> None:
    """``-v``, the spec arguments and ``--backend``: what a command that builds the Keras model takes (``build``,
    ``export``: ``cmd_build.build_from`` reads them)."""
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's start-up log lines")
    add_spec_arguments(parser)
    add_backend(parser)


def add_weight_loading(parser: argparse.ArgumentParser) -> None:
    """How a weight file loads into a model being built (``build``, ``export``)."""
    parser.add_argument("--by-name", action="store_true", help="load weights by layer name instead of by order")
    parser.add_argument("--allow-partial", action="store_true", help="with --by-name, load what matches")
    add_adapt_channels(parser)


def add_adapt_channels(parser: argparse.ArgumentParser) -> None:
    """``--adapt-input-channels`` (``build``, ``export``, ``convert``, ``check-weights``)."""
    parser.add_argument("--adapt-input-channels", action="store_true",
                        help="weights for another input channel count (RGB weights, a 1-channel --input-shape): "
                             "adapt the convolution that reads the input as timm's in_chans does (sum the "
                             "filters for 1 channel, else repeat and rescale them)")


def add_backend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS,
                        help="Keras backend for this run (overrides KERAS_BACKEND; default: KERAS_BACKEND, else "
                             "the \"backend\" of ~/.keras/keras.json, else tensorflow)")


def select_backend(name: str | None) -> None:
    """Set ``KERAS_BACKEND`` for this run, before anything imports Keras (Keras reads it once, on import).

    A backend whose package is missing is exit 1 with the extra to install; a process that already imported
    Keras with another backend (``main([...])`` called from Python) cannot switch, which is exit 2."""
    if name is None:
        from archspec.backend.config import backend_variable_problem

        problem = backend_variable_problem()
        if problem and "keras" not in sys.modules:
            print(f"archspec: error: {problem}; or choose one with --backend", file=sys.stderr)
            raise SystemExit(2)
        return
    import importlib.util
    import os

    if importlib.util.find_spec(name) is None:
        print(f"archspec: error: --backend {name}: the {name} package is not installed; install it "
              f"with: pip install 'archspec-cnn[{name}]'", file=sys.stderr)
        raise SystemExit(1)
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            print(f"archspec: error: --backend {name}: Keras is already imported in this process with the "
                  f"{current} backend, and Keras cannot switch backends once imported", file=sys.stderr)
            raise SystemExit(2)
        return
    os.environ["KERAS_BACKEND"] = name

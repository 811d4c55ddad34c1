"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
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
    parser.add_argument("--input-shape", type=_shape, metavar="H,W,C", help="input shape, e.g. 160,160,3")
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
    return dims


def build_options(args: argparse.Namespace) -> dict:
    return {"include_top": args.include_top, "pooling": args.pooling, "classes": args.classes,
            "input_shape": args.input_shape, "classifier_activation": args.classifier_activation}


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """``--set``, the build options and ``--limit``: what every command that expands a spec accepts."""
    add_set(parser)
    add_build_options(parser)
    add_limits(parser)


def expand_from(args: argparse.Namespace, source: str) -> Any:
    """Expand ``source`` with the command line's overrides, options and limits (pure Python)."""
    from archspec.api import expand

    return expand(source, args.overrides, limits_from(args), **build_options(args))

"""``archspec list [PATTERN...]``: the bundled zoo, searchable, with what a user picks a model by.

Per spec: its family (the first library of the spec at the root of its ``extends`` chain), params and MACs at the default input
size, the published weights and checkpoint families it loads, its feature taps and its input size. Graph
only: no TensorFlow, and only the specs that match a pattern are expanded.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from archspec.api import Spec, SpecCache


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the bundled specs (filter with wildcards: 'efficientnet*')",
                       description="List the bundled specs with family, params, MACs at the default input size, "
                                   "published weights, checkpoint families, feature taps and input size ('(32n)': "
                                   "the height and width must be multiples of 32).")
    p.add_argument("patterns", nargs="*", metavar="PATTERN",
                   help="shell-style wildcards on the spec name ('resnet*', '*_torch'); several are OR-ed")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def matching(names: list[str], patterns: list[str]) -> tuple[list[str], list[str]]:
    """The names any pattern matches (case-insensitive, as a zoo is searched), and the patterns matching none."""
    if not patterns:
        return names, []
    hits = {p: [n for n in names if fnmatch.fnmatchcase(n.lower(), p.lower())] for p in patterns}
    found = {n for matches in hits.values() for n in matches}
    return [n for n in names if n in found], [p for p, matches in hits.items() if not matches]


def run(args: argparse.Namespace) -> int:
    from archspec.api import SpecCache, bundled_names

    names, unmatched = matching(bundled_names(), args.patterns)
    for pattern in unmatched:
        print(f"archspec list: error: no bundled spec matches {pattern!r} (see 'archspec list')", file=sys.stderr)
    if unmatched:
        return 1
    cache = SpecCache()  # the zoo shares its libraries and bases: each file is read once
    rows = [describe(name, cache) for name in names]
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'spec':<24}{'family':<20}{'params':>13}{'GMACs':>8}  {'input':<18}{'weights':<10}{'checkpoint':<12}"
          "features")
    for r in rows:
        dims = "x".join("?" if d is None else str(d) for d in r["input"])
        dims += f" ({r['input_multiple']}n)" if r["input_multiple"] else ""  # '640x640x3 (32n)'
        print(f"{r['name']:<24}{r['family']:<20}{r['params']:>13,}{r['macs'] / 1e9:>8.2f}  {dims:<18}"
              f"{','.join(r['published']) or '-':<10}{','.join(r['checkpoint']) or '-':<12}"
              f"{','.join(tap['level'] for tap in r['features']) or '-'}")
    return 0


def describe(name: str, cache: SpecCache) -> dict:
    """One zoo entry: what ``archspec list`` prints for a bundled spec (graph only, no Keras)."""
    from archspec.api import layer_graph, load_spec
    from archspec.graph.features import feature_taps

    spec = load_spec(name, cache=cache)
    graph = layer_graph(spec)
    return {
        "name": name,
        "family": family(spec, cache),
        "description": spec.data.get("description", ""),
        "params": sum(layer.params for layer in graph),
        "macs": sum(layer.macs for layer in graph),
        "weighted_layers": len(graph.weighted()),
        "input": list(graph.input_shape),
        "input_multiple": graph.input_multiple,
        "preprocessing": graph.preprocessing,
        "published": sorted(spec.data.get("published") or {}),
        "checkpoint": [graph.checkpoint] if graph.checkpoint else [],
        "features": [{"level": tap.level, "layer": tap.layer.name, "reduction": tap.reduction,  # its 'tap: true'
                      "channels": tap.channels} for tap in feature_taps(graph).values()],
    }


def family(spec: Spec, cache: SpecCache) -> str:
    """The first library imported by the spec at the root of ``spec``'s ``extends`` chain (``efficientnet_b7`` ->
    ``efficientnet``, ``resnet101_torch`` -> ``resnet``), else that root spec's file name.

    Taken from the documents that loading ``spec`` parsed into ``cache``: no file is read again (the load refused
    cycles, so the chain ends)."""
    from archspec.lang.compose import reference_path, references

    path = Path(spec.file)
    while True:
        refs = references(cache.docs[path.resolve()].data)  # the imports in order, then the extends
        extends = [rel for rel, at in refs if at == ("extends",)]
        if not extends:
            return Path(refs[0][0]).stem if refs else path.stem
        path = reference_path(path, extends[0])

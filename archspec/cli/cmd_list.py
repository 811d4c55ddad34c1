"""``archspec list``: the bundled zoo with params, weighted layers and input size."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the bundled specs")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.api import layer_graph
    from archspec.lang.sources import bundled_dir, bundled_names

    rows = []
    for name in bundled_names():
        graph = layer_graph(bundled_dir() / f"{name}.yaml")
        rows.append({
            "name": name,
            "params": sum(layer.params for layer in graph),
            "weighted_layers": len(graph.weighted()),
            "input": list(graph.input_shape),
            "preprocessing": graph.preprocessing,
        })
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'spec':<24}{'params':>14}{'weighted':>10}  {'input':<16}preprocessing")
    for r in rows:
        dims = "x".join("?" if d is None else str(d) for d in r["input"])
        print(f"{r['name']:<24}{r['params']:>14,}{r['weighted_layers']:>10}  {dims:<16}{r['preprocessing']}")
    return 0

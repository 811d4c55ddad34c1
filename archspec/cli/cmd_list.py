"""``archspec list``: the bundled zoo with params, weighted layers and input size."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the bundled specs")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.api import expand
    from archspec.lang.sources import bundled_dir, bundled_names

    rows = []
    for name in bundled_names():
        graph = expand(bundled_dir() / f"{name}.yaml")
        nodes = graph.nodes.values()
        rows.append({
            "name": name,
            "params": sum(n["params"] for n in nodes),
            "weighted_layers": sum(1 for n in nodes if n["weights"]),
            "input": list(graph.graph["input_shape"]),
            "preprocessing": graph.graph["preprocessing"],
        })
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'spec':<24}{'params':>14}{'weighted':>10}  {'input':<16}preprocessing")
    for r in rows:
        dims = "x".join("?" if d is None else str(d) for d in r["input"])
        print(f"{r['name']:<24}{r['params']:>14,}{r['weighted_layers']:>10}  {dims:<16}{r['preprocessing']}")
    return 0

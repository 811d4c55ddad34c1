"""``archspec graph SPEC``: the layer graph as DOT, JSON (node-link), GraphML, SVG or PNG, without TensorFlow."""

from __future__ import annotations

import argparse
import io
import json
import sys

from archspec.cli.common import add_spec_arguments, expand_from, limits_from, load_from
from archspec.cli.outfile import output_target
from archspec.fileio import write_bytes

FORMATS = ("dot", "json", "graphml", "svg", "png")
SUFFIXES = ("", ".dot", ".gv", ".json", ".graphml", ".xml", ".svg", ".png")  # -o without --format
LARGE = 300  # layers; beyond this a layer-level png exceeds what Graphviz rasterises at full size


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("graph", help="export the layer graph (dot, json, graphml, svg, png)")
    p.add_argument("spec", help="spec file or bundled name (e.g. resnet50)")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from -o's suffix, else dot)")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--level", choices=("layer", "block", "stage"), default="layer",
                   help="dot/svg/png: one node per layer, per block or per stage")
    p.add_argument("--rankdir", choices=("TB", "LR", "BT", "RL"), default="TB", help="dot/svg/png: layout direction")
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = args.format or _from_suffix(args.output)
    suffixes = None if args.format else SUFFIXES
    output_target(args.output, suffixes)  # before any work
    spec, inputs = load_from(args, args.spec)
    output = output_target(args.output, suffixes, inputs)
    graph = expand_from(args, spec)
    if fmt == "json":
        from archspec.export.nodes import node_link

        data: bytes = (json.dumps(node_link(graph), indent=1) + "\n").encode("utf8")
    elif fmt == "graphml":
        import networkx as nx

        from archspec.export.nodes import graphml_graph

        buf = io.BytesIO()
        nx.write_graphml(graphml_graph(graph), buf)
        data = buf.getvalue()
    else:
        from archspec.export.dot import render, to_dot

        text = to_dot(graph, args.level, args.rankdir).to_string()
        data = text.encode("utf8") if fmt == "dot" else render(text, fmt, limits_from(args).graphviz_seconds)
        if fmt == "png" and args.level == "layer" and len(graph) > LARGE:
            print(f"archspec: note: {len(graph)} layers may be scaled down in a png; "
                  "svg or --level block stays readable", file=sys.stderr)
    if output:
        write_bytes(output, data)
        print(f"wrote {args.output} ({fmt}, {len(graph)} layers)", file=sys.stderr)
    elif fmt == "png":
        print("archspec: error: png is binary; write it with -o FILE.png", file=sys.stderr)
        return 2
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _from_suffix(path: str | None) -> str:
    suffix = (path or "").rsplit(".", 1)[-1].lower() if path and "." in path else ""
    return {"gv": "dot", "xml": "graphml"}.get(suffix, suffix if suffix in FORMATS else "dot")

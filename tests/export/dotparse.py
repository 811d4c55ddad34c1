"""Read DOT text back with pydot, independently of how archspec wrote it."""

from __future__ import annotations

import pydot


def unquote(value: str) -> str:
    """A DOT double-quoted string's text: escapes undone, ``\\n`` as a newline."""
    if not (value.startswith('"') and value.endswith('"')):
        return value
    body, out, k = value[1:-1], [], 0
    while k < len(body):
        ch = body[k]
        if ch == "\\" and k + 1 < len(body):
            nxt = body[k + 1]
            out.append("\n" if nxt == "n" else nxt)
            k += 2
        else:
            out.append(ch)
            k += 1
    return "".join(out)


def parse(text: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(text)
    assert graphs, "pydot could not parse the DOT text"
    assert len(graphs) == 1
    return graphs[0]


def all_nodes(graph: pydot.Graph) -> list[pydot.Node]:
    """Nodes at every cluster depth, skipping the ``node``/``graph``/``edge`` default statements."""
    found = [n for n in graph.get_nodes() if n.get_name() not in ("node", "graph", "edge")]
    for sub in graph.get_subgraphs():
        found += all_nodes(sub)
    return found


def all_edges(graph: pydot.Graph) -> list[pydot.Edge]:
    found = list(graph.get_edges())
    for sub in graph.get_subgraphs():
        found += all_edges(sub)
    return found


def clusters(graph: pydot.Graph) -> list[str]:
    found = []
    for sub in graph.get_subgraphs():
        found.append(sub.get_name())
        found += clusters(sub)
    return found


def layer_view(text: str) -> tuple[dict[str, str], set[tuple[str, str]], pydot.Dot]:
    """``{node id: layer name}`` (first label line) and edges as (source name, target name)."""
    dot = parse(text)
    names = {n.get_name(): unquote(n.get("label")).split("\n")[0] for n in all_nodes(dot)}
    edges = {(names[e.get_source()], names[e.get_destination()]) for e in all_edges(dot)}
    return names, edges, dot


def graphviz_view(text: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Like :func:`layer_view` but parsed by Graphviz itself (``gvpr``: no layout, fast on 800 layers)."""
    import shutil
    import subprocess

    gvpr = shutil.which("gvpr")
    assert gvpr, "Graphviz is required for these tests (apt-get install graphviz)"
    prog = 'N{print("N\\t", $.name, "\\t", $.label)} E{print("E\\t", $.tail.name, "\\t", $.head.name)}'
    proc = subprocess.run([gvpr, prog], input=text.encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    names: dict[str, str] = {}
    pairs = []
    for line in proc.stdout.decode().splitlines():
        kind, a, b = line.split("\t")
        if kind == "N":  # gvpr keeps escString escapes except \"; the first line is the layer name
            names[a] = b.split("\\n")[0].replace("\\\\", "\\")
        else:
            pairs.append((a, b))
    return names, {(names[a], names[b]) for a, b in pairs}

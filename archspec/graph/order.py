"""Keras's ``model.layers`` order, computed from the graph without importing Keras.

Keras 3 (``map_graph`` in ``keras/src/ops/function.py``) walks the graph depth-first from the output,
numbering *operations* in pre-order and visiting a node's input tensors in merge order; it gives each
node its longest distance to the output (its depth) and orders ``model.operations`` deepest first,
breaking ties by that number. ``Functional.layers`` (``keras/src/models/functional.py``) is then
``model.operations`` filtered to ``Layer`` instances. So an op that is not a layer (``OpDef.layer``
false, e.g. ``x + 3.0``) takes part in the depths and the numbering like any node, and is only left out
at the end. A nested layer (``sequential:``) is one operation: its members are not nodes of the outer
graph (nothing outside consumes them), so the walk never meets them. By-order weight loading pairs layers in this order, which is why ``Add([shortcut, x])`` and
``Add([x, shortcut])`` load different weights.
"""

from __future__ import annotations

from archspec.graph.ir import Graph, Layer


def keras_inputs(node: Layer) -> list[int]:
    """The inputs the node's Keras layer or operation reads (``OpDef.keras_inputs``): a value that only gives
    a size (``resize_like``'s second input) is not an input of the Keras node."""
    n = None if node.opdef is None else node.opdef.keras_inputs
    return node.inputs if n is None else node.inputs[:n]


def keras_operation_order(graph: Graph) -> list[int]:
    """Node ids in the order of the emitted model's ``model.operations``: every node, layer or not."""
    layers = graph.layers
    index: dict[int, int] = {}
    finished: set[int] = set()
    post: list[int] = []  # inputs before their consumers
    stack: list[tuple[int, int]] = []
    for root in graph.output_ids():  # several outputs: one walk after another, sharing what was seen
        if root not in finished:
            index.setdefault(root, len(index))
            stack.append((root, 0))
            _walk(layers, stack, index, finished, post)
    depth: dict[int, int] = {}
    for nid in reversed(post):
        d = depth.setdefault(nid, 0)
        for parent in keras_inputs(layers[nid]):
            if depth.get(parent, 0) < d + 1:
                depth[parent] = d + 1
    return sorted(post, key=lambda n: (-depth[n], index[n]))


def _walk(layers: list[Layer], stack: list[tuple[int, int]], index: dict[int, int], finished: set[int],
          post: list[int]) -> None:
    """Keras's depth-first walk from the node on ``stack``, numbering nodes in pre-order into ``index``
    and appending them to ``post`` once their inputs are done."""
    while stack:  # iterative DFS: graphs can be far deeper than Python's recursion limit
        nid, k = stack[-1]
        inputs = keras_inputs(layers[nid])
        if k < len(inputs):
            stack[-1] = (nid, k + 1)
            child = inputs[k]
            if child not in finished:
                index.setdefault(child, len(index))
                stack.append((child, 0))
        else:
            stack.pop()
            if nid not in finished:
                finished.add(nid)
                post.append(nid)


def keras_layer_order(graph: Graph) -> list[int]:
    """Node ids in the order Keras lists the layers of the emitted functional model (``model.layers``)."""
    layers = graph.layers
    return [n for n in keras_operation_order(graph) if layers[n].is_layer]

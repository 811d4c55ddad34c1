"""Graph -> Keras functional model. Each op's Keras layer comes from its record (``OpDef.keras``)."""

from __future__ import annotations

from typing import Any

import keras

from archspec.backend import layers as archspec_layers
from archspec.graph.ir import Graph
from archspec.ops import OPS


class _Layers:
    """The namespace op records build layers from: Keras's layers, then archspec's own."""

    def __getattr__(self, name: str) -> Any:
        found = getattr(archspec_layers, name, None)
        return found if found is not None else getattr(keras.layers, name)


LAYERS = _Layers()


def emit_model(graph: Graph, name: str | None = None, initialize: bool = True) -> keras.Model:
    """Build the functional model: layers created in graph (declaration) order, merge inputs in order.

    ``initialize=False`` is for weights about to be overwritten from a checked file: every weight the
    record lists starts as zeros instead of random numbers (a fifth of a ResNet-50 build), and each
    layer gets its declared initializers back afterwards, so the model and its config are otherwise the same.
    """
    tensors: list[Any] = []
    for node in graph.layers:  # creation order is a topological order
        if node.op == "input":
            tensors.append(keras.Input(shape=node.shape, name=node.name))
            continue
        layer = OPS[node.op].keras(LAYERS, node.attrs, node.name)
        args = [tensors[i] for i in node.inputs]
        declared = {} if initialize else {w.initializer: getattr(layer, w.initializer)
                                          for w in node.weights if w.initializer}
        for attr in declared:
            setattr(layer, attr, keras.initializers.Zeros())
        tensors.append(layer(args if len(args) > 1 else args[0]))  # builds the layer: creates its weights
        for attr, init in declared.items():
            setattr(layer, attr, init)
    return keras.Model(tensors[graph.input], tensors[graph.output], name=name or graph.name)

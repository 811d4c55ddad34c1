"""One emitter per op: graph attributes -> a Keras layer with the node's name."""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import layers

from archspec.backend.layers import ScaledAdd
from archspec.graph.ops import pad4

Emitter = Callable[[dict, str], Any]


def _conv2d(a: dict, name: str) -> Any:
    return layers.Conv2D(a["filters"], a["kernel_size"], strides=a["strides"], padding=a["padding"],
                         dilation_rate=a["dilation_rate"], use_bias=a["use_bias"], activation=a["activation"],
                         name=name)


def _pool(cls: type) -> Emitter:
    def emit(a: dict, name: str) -> Any:
        return cls(a["pool_size"], strides=a["strides"], padding=a["padding"], name=name)

    return emit


def _zero_pad(a: dict, name: str) -> Any:
    t, b, l, r = pad4(a["padding"])
    return layers.ZeroPadding2D(((t, b), (l, r)), name=name)


EMITTERS: dict[str, Emitter] = {
    "conv2d": _conv2d,
    "dense": lambda a, n: layers.Dense(a["units"], use_bias=a["use_bias"], activation=a["activation"], name=n),
    "batch_norm": lambda a, n: layers.BatchNormalization(axis=-1, epsilon=a["epsilon"], momentum=a["momentum"],
                                                         scale=a["scale"], center=a["center"], name=n),
    "activation": lambda a, n: layers.Activation(a["activation"], name=n),
    "zero_pad": _zero_pad,
    "max_pool": _pool(layers.MaxPooling2D),
    "avg_pool": _pool(layers.AveragePooling2D),
    "global_avg_pool": lambda a, n: layers.GlobalAveragePooling2D(name=n),
    "global_max_pool": lambda a, n: layers.GlobalMaxPooling2D(name=n),
    "dropout": lambda a, n: layers.Dropout(a["rate"], name=n),
    "add": lambda a, n: layers.Add(name=n),
    "concat": lambda a, n: layers.Concatenate(axis=-1, name=n),
    "scaled_add": lambda a, n: ScaledAdd(a["scale"], name=n),
}


def emit_model(graph: Any, name: str | None = None, initialize: bool = True) -> keras.Model:
    """Build the functional model: layers created in graph (declaration) order, merge inputs in order.

    ``initialize=False`` is for weights about to be overwritten from a checked file: kernels start as
    zeros instead of drawing random numbers (a fifth of a ResNet-50 build), and each layer gets its
    declared initializer back afterwards, so the model and its config are otherwise the same.
    """
    tensors: dict[int, Any] = {}
    data = graph.nodes
    for nid in graph.nodes:  # integer ids in creation order are a topological order
        node = data[nid]
        if node["op"] == "input":
            tensors[nid] = keras.Input(shape=node["shape"], name=node["name"])
            continue
        layer = EMITTERS[node["op"]](node["attrs"], node["name"])
        args = [tensors[i] for i in node["inputs"]]
        declared = None if initialize else getattr(layer, "kernel_initializer", None)
        if declared is not None:
            layer.kernel_initializer = keras.initializers.Zeros()
        tensors[nid] = layer(args if len(args) > 1 else args[0])  # builds the layer: creates its weights
        if declared is not None:
            layer.kernel_initializer = declared
    g = graph.graph
    return keras.Model(tensors[g["input"]], tensors[g["output"]], name=name or g["name"])

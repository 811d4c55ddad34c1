"""Graph -> Keras functional model. Each op's Keras layer comes from its record (``OpDef.keras``)."""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, Iterator

import keras

from archspec.graph.ir import Graph, Layer
from archspec.progress import counted

# Layer classes that keras.applications defines next to its models rather than in keras.layers. They are
# the reference's own classes (same auto-names), and a saved ``.keras`` file names their module inside the
# keras package, which Keras imports by itself when loading: archspec models need no custom objects, so
# they load in a process that never imports archspec, whatever the import order.
_APPLICATION_LAYERS = {"CustomScaleLayer": "keras.src.applications.inception_resnet_v2",
                       "LayerScale": "keras.src.applications.convnext",
                       "StochasticDepth": "keras.src.applications.convnext"}


class _Layers:
    """The namespace op records build layers from: keras.layers, and the applications' own classes.

    The graph is channels-last; under ``keras.config.image_data_format() == "channels_first"`` the spatial
    layers follow Keras's setting by themselves, and a record places what names the channel axis through
    ``K.channel_axis`` (BatchNormalization, Concatenate, Normalization) and ``K.feature_shape`` (a Reshape
    target), as keras.applications does with its ``bn_axis``/``channel_axis``/``se_shape``."""

    def __getattr__(self, name: str) -> Any:
        if name in _APPLICATION_LAYERS:
            return getattr(importlib.import_module(_APPLICATION_LAYERS[name]), name)
        return getattr(keras.layers, name)

    channel_axis = property(lambda self: _channel_axis())

    @staticmethod
    def feature_shape(shape: tuple) -> tuple:
        """A channels-last (H, W, C) shape as Keras's data format lays it out; other ranks unchanged."""
        if len(shape) == 3 and keras.config.image_data_format() == "channels_first":
            return (shape[2], shape[0], shape[1])
        return tuple(shape)


LAYERS = _Layers()


def _channel_axis() -> int:
    return 1 if keras.config.image_data_format() == "channels_first" else -1


class _Operations:
    """The namespace of ops that are not layers (``OpDef.layer`` false): the classes behind ``keras.ops``
    (``Add`` is what ``x + 3.0`` on a Keras tensor creates), so an op emits the node the reference's
    arithmetic records, under the name archspec gave it. ``channel_axis`` as for layers."""

    channel_axis = property(lambda self: _channel_axis())

    def __getattr__(self, name: str) -> Any:
        from keras.src import ops

        return getattr(ops, name) if hasattr(ops, name) else getattr(ops.image, name)


OPERATIONS = _Operations()


def emit_model(graph: Graph, name: str | None = None, initialize: bool = True) -> keras.Model:
    """Build the functional model: layers created in graph (declaration) order, merge inputs in order;
    ops that are not layers are applied as the named Keras operations their records describe.

    ``initialize=False`` is for weights about to be overwritten from a checked file: every weight the
    record lists starts as zeros instead of random numbers (a fifth of a ResNet-50 build), and each
    layer gets its declared initializers back afterwards, so the model and its config are otherwise the same.
    """
    tensors: list[Any] = []
    for node in counted(graph.layers, f"building {len(graph)} layers"):  # creation order is a topological order
        if node.is_input:
            tensors.append(keras.Input(shape=LAYERS.feature_shape(node.shape), name=node.name))
            continue
        if node.nested_in is not None:  # made by its nested layer, which comes after its members
            tensors.append(None)
            continue
        args = [tensors[i] for i in node.inputs]
        if node.is_nested:  # keras.Sequential of the members, called once: one entry of model.layers
            made = [_layer(graph.layers[m], initialize) for m in node.members]
            tensors.append(_built(keras.Sequential([layer for layer, _ in made], name=node.name), args[0], made))
            continue
        opdef = node.opdef
        if not opdef.layer:  # a Keras operation: a graph node, not in model.layers, no weights
            apply = opdef.keras(OPERATIONS, node.attrs, node.name)
            tensors.append(apply(args if len(args) > 1 else args[0]))
            continue
        made = _layer(node, initialize)
        tensors.append(_built(made[0], args if len(args) > 1 else args[0], [made]))
    with _recursion_room(len(graph)):
        return keras.Model(tensors[graph.input], model_outputs(graph, tensors), name=name or graph.name)


def feature_model(model: keras.Model, taps: dict[str, str]) -> keras.Model:
    """The backbone ``model`` returning the tensors its pyramid levels tap (level -> layer or operation
    name, as :func:`archspec.api.feature_layers` gives them), as a dict: its layers, with their weights."""
    made = {op.name: op for op in model.operations}
    return keras.Model(model.inputs, {level: made[name].output for level, name in taps.items()}, name=model.name)


def model_outputs(graph: Graph, tensors: list[Any]) -> Any:
    """What the functional model returns: the one output tensor, or a dict of the named outputs in
    declaration order (``model.outputs`` lists them sorted by name, as Keras flattens a dict)."""
    if not graph.outputs:
        return tensors[graph.output]
    return {name: tensors[nid] for name, nid in graph.outputs.items()}


def _layer(node: Layer, initialize: bool) -> tuple[Any, dict]:
    """The node's unbuilt Keras layer; without ``initialize``, its weights' initializers are swapped for
    zeros until it is built (returned: the declared ones, to put back)."""
    layer = node.opdef.keras(LAYERS, node.attrs, node.name)
    declared = {} if initialize else {w.initializer: getattr(layer, w.initializer)
                                      for w in node.weights if w.initializer}
    for attr in declared:
        setattr(layer, attr, _host_zeros)
    return layer, declared


def _host_zeros(shape: Any, dtype: Any = None) -> Any:
    """Zeros made with NumPy: ``keras.initializers.Zeros`` on JAX compiles a fill program per weight shape, a
    quarter of a build whose weights all come from a file."""
    import numpy as np

    return np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype))


def _built(layer: Any, args: Any, made: list[tuple[Any, dict]]) -> Any:
    """Call ``layer`` (which builds it, or the layers of a Sequential: creates their weights), then give
    each of the ``made`` layers its declared initializers back."""
    out = layer(args)
    for inner, declared in made:
        for attr, init in declared.items():
            setattr(inner, attr, init)
    return out


@contextlib.contextmanager
def _recursion_room(layers: int) -> Iterator[None]:
    """Keras maps a functional model with a recursive walk (``ops/function.py``, a few frames per layer),
    so a 4,000-layer chain hits Python's default limit of 1,000. Raise it for this call only, then put
    the caller's limit back."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 4 * layers + 1_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)

"""Build the Keras model of a graph the way keras.applications constructors do: data format, input tensor,
model name, and weights (a checked file, or a spec's published weights by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.ir import Graph
from archspec.weights.match import check_weights, diagnostics


def check_data_format(where: Location) -> None:
    """archspec emits channels_last layers; a channels_first Keras configuration is refused, not ignored."""
    import keras

    fmt = keras.config.image_data_format()
    if fmt != "channels_last":
        raise SpecError(Diagnostic(
            f"archspec builds channels_last models, but keras.config.image_data_format() is {fmt!r}", where,
            hint="call keras.config.set_image_data_format('channels_last') before building (or set "
                 "\"image_data_format\": \"channels_last\" in ~/.keras/keras.json)"))


def tensor_input_shape(tensor: Any, input_shape: Any, where: Location) -> tuple:
    """The (height, width, channels) an ``input_tensor`` gives the model, checked against ``input_shape``."""
    shape = getattr(tensor, "shape", None)
    if shape is None or len(shape) != 4:
        raise SpecError(Diagnostic(f"`input_tensor` must be a 4D image tensor (batch, height, width, channels); "
                                   f"Received: shape={shape}", where, "/input"))
    dims = tuple(None if d is None else int(d) for d in tuple(shape)[1:])
    if input_shape is not None and tuple(input_shape) != dims:
        raise SpecError(Diagnostic(f"`input_shape`={tuple(input_shape)} does not match the shape of "
                                   f"`input_tensor`, {dims}", where, "/input"))
    return dims


def build_model(graph: Graph, spec: Any, weights: Any, by_name: bool = False, allow_partial: bool = False,
                input_tensor: Any = None, name: str | None = None) -> Any:
    from archspec.backend.keras_emitters import emit_model

    if weights is None:
        model = emit_model(graph, name=name)
    else:
        model = build_with_weights(graph, weights, by_name=by_name, allow_partial=allow_partial, name=name)
    if input_tensor is not None:
        model = _on_tensor(model, graph, input_tensor)
    return model


def _on_tensor(model: Any, graph: Graph, input_tensor: Any) -> Any:
    """The model's layers applied to ``input_tensor``, as one flat functional model whose inputs are the
    tensor's source inputs (what keras.applications does with ``input_tensor``)."""
    import keras

    if not keras.backend.is_keras_tensor(input_tensor):
        input_tensor = keras.Input(tensor=input_tensor)
    by_name = {layer.name: layer for layer in model.layers}
    tensors: list[Any] = []
    for node in graph.layers:
        if node.op == "input":
            tensors.append(input_tensor)
            continue
        args = [tensors[i] for i in node.inputs]
        tensors.append(by_name[node.name](args if len(args) > 1 else args[0]))
    return keras.Model(keras.utils.get_source_inputs(input_tensor), tensors[graph.output], name=model.name)


def build_with_weights(graph: Graph, path: str | Path, by_name: bool = False, allow_partial: bool = False,
                       name: str | None = None) -> Any:
    """Check ``path``, emit the model, load it; random initialisation is skipped when the check shows
    that the file sets every weight (so ``build(weights=f)`` is faster than build-then-load)."""
    from archspec.backend.keras_emitters import emit_model

    fname = str(path)
    if not fname.endswith((".h5", ".hdf5")) or fname.endswith(".weights.h5"):
        # Keras picks the reader by suffix; any other name would fail inside Keras with a traceback
        raise SpecError(Diagnostic("weight files must be legacy Keras HDF5 files named *.h5 or *.hdf5 "
                                   "(not *.weights.h5)", Location(fname)))
    result = check_weights(graph, path, "name" if by_name else "order")
    problems = diagnostics(result.reports[0], graph, result.wfile, allow_partial=allow_partial)
    if problems:
        raise SpecError(problems)
    model = emit_model(graph, name=name, initialize=not result.loads)
    if by_name:
        model.load_weights(fname, by_name=True, skip_mismatch=allow_partial)
    else:
        model.load_weights(fname)
    return model

"""Build the Keras model of a graph the way keras.applications constructors do: data format, input tensor,
model name, and weights (a checked file; a spec's published weights come from archspec.weights.published)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.ir import Graph
from archspec.progress import counted
from archspec.weights.h5file import WeightFile, check_arrays, read_arrays, read_weight_file
from archspec.weights.channels import adapt_array
from archspec.weights.match import decide


def check_data_format(spec: Any) -> str:
    """Keras's image data format for this build. The graph stays channels-last; under ``channels_first`` the
    emitters give layers channels-first tensors (``keras_emitters``). A spec whose reference refuses that
    format (``channels_first: false``, DenseNet) is refused with keras's error, at that line."""
    import keras

    fmt = keras.config.image_data_format()
    if fmt == "channels_first" and spec.data.get("channels_first", True) is False:
        raise SpecError(Diagnostic(
            f"'{spec.name}' does not support the `channels_first` image data format. Switch to `channels_last` "
            "by editing your local config file at ~/.keras/keras.json", spec.where(("channels_first",)),
            "/channels_first", hint="or call keras.config.set_image_data_format('channels_last') before building"))
    return fmt


def tensor_input_shape(tensor: Any, input_shape: Any, where: Location, data_format: str = "channels_last") -> tuple:
    """The (height, width, channels) an ``input_tensor`` gives the model, checked against ``input_shape``
    (both written in ``data_format``, as keras reads them)."""
    shape = getattr(tensor, "shape", None)
    axes = "channels, height, width" if data_format == "channels_first" else "height, width, channels"
    if shape is None or len(shape) != 4:
        raise SpecError(Diagnostic(f"`input_tensor` must be a 4D image tensor (batch, {axes}); "
                                   f"Received: shape={shape}", where, "/input"))
    dims = tuple(None if d is None else int(d) for d in tuple(shape)[1:])
    if input_shape is not None and tuple(input_shape) != dims:
        raise SpecError(Diagnostic(f"`input_shape`={tuple(input_shape)} does not match the shape of "
                                   f"`input_tensor`, {dims}", where, "/input"))
    return (dims[1], dims[2], dims[0]) if data_format == "channels_first" else dims


def build_model(graph: Graph, weights: Any, by_name: bool = False, allow_partial: bool = False,
                input_tensor: Any = None, name: str | None = None, wfile: WeightFile | None = None,
                adapt_channels: bool = False) -> Any:
    from archspec.backend.keras_emitters import emit_model

    if weights is None:
        model = emit_model(graph, name=name)
    else:
        model = build_with_weights(graph, weights, by_name=by_name, allow_partial=allow_partial, name=name,
                                   wfile=wfile, adapt_channels=adapt_channels)
    if input_tensor is not None:
        model = _on_tensor(model, graph, input_tensor)
    return model


def _on_tensor(model: Any, graph: Graph, input_tensor: Any) -> Any:
    """The model's layers applied to ``input_tensor``, as one flat functional model whose inputs are the
    tensor's source inputs (what keras.applications does with ``input_tensor``)."""
    import keras

    from archspec.backend.keras_emitters import model_outputs

    if not keras.backend.is_keras_tensor(input_tensor):
        input_tensor = keras.Input(tensor=input_tensor)
    by_name = {layer.name: layer for layer in model.layers}
    tensors: list[Any] = []
    for node in graph.layers:
        if node.is_input or node.nested_in is not None:  # a nested layer's members are called by it
            tensors.append(input_tensor if node.is_input else None)
            continue
        args = [tensors[i] for i in node.inputs]
        tensors.append(by_name[node.name](args if len(args) > 1 else args[0]))
    return keras.Model(keras.utils.get_source_inputs(input_tensor), model_outputs(graph, tensors), name=model.name)


class SkippedWeightsWarning(UserWarning):
    """Layers a weight file did not set (transfer learning: a new classifier); the CLI prints it."""


def build_with_weights(graph: Graph, path: str | Path, by_name: bool = False, allow_partial: bool = False,
                       name: str | None = None, wfile: WeightFile | None = None, adapt_channels: bool = False) -> Any:
    """Check ``path``, emit the model, set the weights the check paired; random initialisation is skipped
    when the check shows that the file sets every weight (so ``build(weights=f)`` is faster than
    build-then-load).

    Legacy HDF5 and Keras 3 ``.weights.h5`` files are read the same way (h5py, the pairs of
    :func:`archspec.weights.match.check_weights`). By order, a file that differs only in the head (a new
    ``classes``, or a top file without the top) loads everything else and warns with the layers skipped.
    ``adapt_channels``: the kernel that reads the network input is adapted to its channel count (timm's rule,
    archspec/weights/channels.py), and the warning says so.
    """
    import warnings

    from archspec.backend.keras_emitters import emit_model

    wfile = wfile or read_weight_file(path)
    decision = decide(graph, wfile, by_name=by_name, allow_partial=allow_partial, adapt_channels=adapt_channels)
    if decision.problems:
        raise SpecError(decision.problems)
    report = decision.report
    # a decompressor crashing on crafted bytes ends a child process; plain (unfiltered) weights are read here
    check_arrays(wfile.path, [p for p in report.paired_datasets() if p in wfile.filtered])
    model = emit_model(graph, name=name, initialize=not report.complete)
    _assign(model, graph, report, wfile)
    note = decision.warning(graph, wfile.path)
    if note:
        warnings.warn(SkippedWeightsWarning(note), stacklevel=3)
    return model


def _assign(model: Any, graph: Graph, report: Any, wfile: Any) -> None:
    """Set each paired layer's variables from the file, in stored order (the order Keras saves them; a nested
    Sequential's: its layers' trainable weights, then the rest), from the datasets the match paired."""
    layers = {layer.name: layer for layer in model.layers}
    for nid, _ in counted(report.matched, f"loading weights into {len(report.matched)} layers"):
        layer = layers[graph.layers[nid].name]
        arrays = list(read_arrays(wfile.path, report.datasets[nid]))
        if nid in report.adapted:  # a reader of the network input, kernel for another channel count
            a = report.adapted[nid]
            arrays[a.weight] = adapt_array(arrays[a.weight], a)
        for variable, array in zip(list(layer.trainable_weights) + list(layer.non_trainable_weights), arrays):
            variable.assign(array)
        if hasattr(layer, "finalize_state"):  # as Keras's loaders do: Normalization derives its
            layer.finalize_state()            # mean/variance tensors from the loaded statistics

"""A loaded spec to a ``keras.Model`` (``archspec.build``): options resolved once, a weight file read and checked
before Keras is imported, then the graph emitted and the weights loaded. The walk runs downward once:
options (graph/options.py) -> weights read (weights/) -> Keras (backend/)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.ir import Graph
from archspec.graph.options import keras_input_options, spec_graph, tapped_layers
from archspec.lang.compose import Spec
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.weights.published import published_file, published_weights

if TYPE_CHECKING:  # pragma: no cover
    import keras


def build_spec(loaded: Spec, options: dict[str, Any], *, weights: str | Path | None = None, input_tensor: Any = None,
               name: str | None = None, by_name: bool = False, allow_partial: bool = False,
               limits: Limits = DEFAULT_LIMITS, features: bool | Iterable[str] | None = None,
               adapt_input_channels: bool = False) -> "keras.Model":
    """See :func:`archspec.build` (the arguments, after the spec is loaded)."""
    taps = None
    if features is not None and features is not False:
        taps = tapped_layers(loaded, features, limits)
        if options.get("include_top") or options.get("pooling"):
            raise SpecError(Diagnostic("features= returns the backbone's feature maps: it takes no include_top "
                                       "or pooling", loaded.where(("head",)) if "head" in loaded.data
                                       else Location(loaded.file)))
        options["include_top"] = False
    where = loaded.where(("input",))
    options = dict(options)
    # keras.config.image_data_format() decides how an input_shape reads, (H, W, C) or (C, H, W); before Keras
    # is imported only a build without input_shape (or one where Keras is loaded already) is checked
    known = "keras" in sys.modules or options.get("input_shape") is None
    if input_tensor is None and known:
        options = keras_input_options(loaded, options, weights, variable=True, data_format=_data_format(),
                                      any_channels=adapt_input_channels)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    wfile = checkpoint = None
    if imagenet and input_tensor is None and known:  # a refused entry costs no Keras import (fetched after it)
        published_file(loaded, options.get("include_top", True), options.get("input_shape"), limits=limits)
    if weights is not None and not imagenet:  # a wrong file is refused here, with h5py alone, before Keras
        from archspec.weights.h5file import read_weight_file
        from archspec.weights.torch_file import read_checkpoint, sniff

        if sniff(weights):  # a PyTorch checkpoint, mapped by the spec's checkpoint keys (docs/pytorch.md)
            checkpoint = read_checkpoint(weights)
        else:
            wfile = read_weight_file(weights)
    if "keras" not in sys.modules:
        from archspec.backend.config import check_keras_config

        check_keras_config()  # what would stop `import keras`, named (KERAS_BACKEND, keras.json)
    try:
        from archspec.backend import keras_emitters as _keras, load as backend  # imports Keras
    except ImportError as exc:  # the base install is pure Python; Keras comes with the extra
        raise SpecError(Diagnostic(f"building a Keras model needs TensorFlow, JAX or PyTorch, with Keras ({exc})",
                                   Location(loaded.file), hint="pip install 'archspec-cnn[tensorflow]' (or [jax], "
                                   "[torch]: README, 'Choosing a Keras backend')")) from None
    data_format = backend.check_data_format(loaded)
    if input_tensor is not None:
        options["input_shape"] = backend.tensor_input_shape(input_tensor, options.get("input_shape"), where,
                                                            data_format)
        options = keras_input_options(loaded, options, weights, variable=True, any_channels=adapt_input_channels)
    elif not known:
        options = keras_input_options(loaded, options, weights, variable=True, data_format=data_format,
                                      any_channels=adapt_input_channels)
    if imagenet:
        weights = published_weights(loaded, options.get("include_top", True), options.get("input_shape"),
                                    limits=limits)
        from archspec.weights.h5file import read_weight_file

        wfile = read_weight_file(weights)
    graph = spec_graph(loaded, {**options, "weights": "imagenet" if imagenet else None}, limits)
    if checkpoint is not None:
        model = _from_checkpoint(graph, checkpoint, backend, allow_partial, adapt_input_channels,
                                 input_tensor=input_tensor, name=name)
    else:
        model = backend.build_model(graph, weights, by_name=by_name, allow_partial=allow_partial,
                                    input_tensor=input_tensor, name=name, wfile=wfile,
                                    adapt_channels=adapt_input_channels)
    return model if taps is None else _keras.feature_model(model, taps)


def _from_checkpoint(graph: Graph, checkpoint: Any, backend: Any, allow_partial: bool, adapt_channels: bool,
                     **kwargs: Any) -> "keras.Model":
    """Build with a PyTorch checkpoint's weights: converted through the transfer plan into a Keras weight file
    (the one path ``archspec convert`` writes), loaded by name; what the plan leaves out is a warning
    (``SkippedWeightsWarning``: a new classifier, tensors of a top the model lacks)."""
    import tempfile
    import warnings

    from archspec.weights.h5file import read_weight_file
    from archspec.weights.torch_plan import convert, skipped

    with tempfile.TemporaryDirectory(prefix="archspec-") as folder:
        converted = Path(folder) / "checkpoint.h5"
        plan = convert(graph, checkpoint, converted, allow_partial, adapt_channels)
        with warnings.catch_warnings():  # the plan's note below says what was left out, in the checkpoint's terms
            warnings.simplefilter("ignore", backend.SkippedWeightsWarning)
            model = backend.build_model(graph, str(converted), by_name=True, allow_partial=True,
                                        wfile=read_weight_file(converted), **kwargs)
    note = skipped(plan, graph)
    if note:
        warnings.warn(backend.SkippedWeightsWarning(note), stacklevel=3)
    return model


def _data_format() -> str:
    """Keras's image data format when Keras is loaded; channels_last (Keras's default) otherwise."""
    keras = sys.modules.get("keras")
    return keras.config.image_data_format() if keras is not None else "channels_last"

"""The Python API. Everything up to ``build`` is pure Python; ``build`` imports Keras on first use."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.builder import BuildOptions, expand as _expand
from archspec.graph.ir import Graph
from archspec.graph.validate import validate_file as _validate_file, validate_spec
from archspec.lang.checks import check_spec
from archspec.lang.compose import Spec, SpecCache, apply_overrides, load_spec as _load_spec
from archspec.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import networkx as nx

Source = str | Path | Spec
Overrides = Mapping[str, Any] | Iterable[str] | None


def load_spec(source: Source, overrides: Overrides = None, limits: Limits = DEFAULT_LIMITS,
              cache: SpecCache | None = None) -> Spec:
    """Load a spec from a path or bundled name (``"resnet50"``), resolving extends/imports/overrides."""
    if isinstance(source, Spec):
        return apply_overrides(source, overrides, limits)
    return _load_spec(source, overrides, limits, cache)


def expand(spec: Source, overrides: Overrides = None, limits: Limits = DEFAULT_LIMITS,
           **options: Any) -> nx.DiGraph:
    """The layer graph of a spec as a ``networkx.DiGraph``; ``options`` are ``include_top``, ``pooling``,
    ``classes``, ``classifier_activation`` and ``input_shape``. Node attributes are the fields of
    :class:`archspec.graph.ir.Layer` plus ``params`` and ``trainable``; edges carry the input ``port``.
    """
    return layer_graph(spec, overrides, limits, **options).to_networkx()


def layer_graph(spec: Source, overrides: Overrides = None, limits: Limits = DEFAULT_LIMITS,
                **options: Any) -> Graph:
    """The typed layer graph (what the backend and the exporters consume).

    The static checks run first, so a broken spec reports every independent problem at once, as
    ``validate`` does; expansion then finds what depends on values and shapes.
    """
    loaded = load_spec(spec, overrides, limits)
    build_options = BuildOptions(**keras_input_options(loaded, options))
    problems = [d for d in check_spec(loaded, limits) if d.severity == "error"]
    if problems:
        raise SpecError(problems)
    return _expand(loaded, build_options, limits)


def validate(source: Source, overrides: Overrides = None, limits: Limits = DEFAULT_LIMITS,
             cache: SpecCache | None = None) -> list[Diagnostic]:
    """All problems found short of building Keras layers; an empty list means the spec builds."""
    try:
        spec = load_spec(source, overrides, limits, cache)
    except SpecError as exc:
        return exc.diagnostics
    return validate_spec(spec, limits)


def validate_file(path: str | Path, limits: Limits = DEFAULT_LIMITS, cache: SpecCache | None = None) -> list[Diagnostic]:
    """Every problem in one file (see :mod:`archspec.graph.validate`); a ``kind: library`` file is not expanded."""
    return _validate_file(path, limits, cache)


def build(source: Source, *, weights: str | Path | None = None, input_tensor: Any = None, name: str | None = None,
          by_name: bool = False, allow_partial: bool = False, overrides: Overrides = None,
          limits: Limits = DEFAULT_LIMITS, **options: Any) -> "keras.Model":
    """Compile a spec to a ``keras.Model`` with the arguments of ``keras.applications`` constructors.

    ``options`` are ``include_top``, ``pooling``, ``classes``, ``classifier_activation`` and ``input_shape``;
    as in keras.applications, a model without its top takes a variable ``(None, None, C)`` input unless an
    ``input_shape`` or ``input_tensor`` says otherwise, and the same input checks apply (every refusal is a
    :class:`SpecError`, a ``ValueError`` that names the spec line). ``weights`` is ``None``, ``"imagenet"``
    (the spec's published files, fetched into the Keras cache) or a path to a Keras weight file (legacy
    ``.h5`` or Keras 3 ``.weights.h5``). The weight file is checked against the graph first, so a mismatch
    names the layer, both shapes and the spec line that made the layer, instead of a Keras traceback.
    """
    loaded = load_spec(source, overrides, limits)
    if "keras" in sys.modules:  # a channels_first configuration is set through Keras, so Keras is loaded
        from archspec.backend.load import check_data_format

        check_data_format(loaded.where(("input",)))
    if input_tensor is None:  # checked with the tensor's shape once Keras is imported
        options = keras_input_options(loaded, dict(options), weights, variable=True)
    wfile = None
    if weights is not None:  # a wrong file is refused here, with h5py alone, before Keras is imported
        from archspec.weights.h5file import read_weight_file

        if isinstance(weights, str) and weights == "imagenet":
            weights = published_weights(loaded, options.get("include_top", True))
        wfile = read_weight_file(weights)
    try:
        from archspec.backend import keras_emitters as _keras, load as backend  # noqa: F401 (imports Keras)
    except ImportError as exc:  # the base install is pure Python; Keras comes with the extra
        raise SpecError(Diagnostic(f"building a Keras model needs TensorFlow ({exc})",
                                   Location(loaded.file), hint="pip install 'archspec[tensorflow]'")) from None
    backend.check_data_format(loaded.where(("input",)))
    if input_tensor is not None:
        options["input_shape"] = backend.tensor_input_shape(input_tensor, options.get("input_shape"),
                                                            loaded.where(("input",)))
        options = keras_input_options(loaded, options, weights, variable=True)
    graph = layer_graph(loaded, None, limits, **options)
    return backend.build_model(graph, weights, by_name=by_name, allow_partial=allow_partial,
                               input_tensor=input_tensor, name=name, wfile=wfile)


def published_weights(spec: Spec, include_top: bool = True) -> str:
    """The local path of the spec's published ImageNet weights (``weights="imagenet"``)."""
    raise SpecError(Diagnostic(f"'{spec.name}' declares no published weights", spec.where(("input",))))


def keras_input_options(spec: Spec, options: dict[str, Any], weights: Any = None,
                        variable: bool = False) -> dict[str, Any]:
    """``options`` with the input shape keras.applications' ``obtain_input_shape`` would use, or a located
    :class:`SpecError` (a ``ValueError``) where it refuses one.

    ``variable``: without the top and without an ``input_shape``, the input's spatial sizes are open
    (what ``build`` does, as keras does); the analyses (``expand``, ``summary``) keep the spec's sizes so
    they can count multiply-accumulates. The family's minimum size is the spec's ``min_input``.
    """
    options = _options(options)
    include_top = options.get("include_top", True)
    shape = options.get("input_shape")
    data = spec.data
    default = tuple(data.get("input") or ())
    where = spec.where(("input",))

    def refuse(message: str, hint: str | None = None) -> None:
        raise SpecError(Diagnostic(message, where, "/input", hint=hint))

    if weights is not None and include_top and options.get("classifier_activation", "softmax") not in ("softmax", None):
        refuse("Only `None` and `softmax` activations are allowed for the `classifier_activation` argument when "
               "using pretrained weights, with `include_top=True`; Received: "
               f"classifier_activation={options['classifier_activation']}")
    if shape is None:
        if variable and not include_top and len(default) == 3:
            options["input_shape"] = (None, None, 3 if weights == "imagenet" else default[-1])
        return options
    if len(shape) != 3 or any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
                              for d in shape):
        refuse(f"`input_shape` must be a tuple of three integers (height, width, channels); Received: "
               f"input_shape={shape}")
    if shape[-1] is None:
        refuse(f"the number of input channels must be given; Received: input_shape={shape}",
               "archspec models are channels_last: (height, width, channels)")
    if weights == "imagenet" and include_top and default and shape != default:
        refuse("When setting `include_top=True` and loading `imagenet` weights, `input_shape` should be "
               f"{default}.  Received: input_shape={shape}")
    if weights == "imagenet" and shape[-1] != 3:
        refuse(f"The input must have 3 channels; Received `input_shape={shape}`")
    min_size = data.get("min_input")
    if isinstance(min_size, int) and any(d is not None and d < min_size for d in shape[:2]):
        looks_first = shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4)
        refuse(f"Input size must be at least {min_size}x{min_size}; Received: input_shape={shape}",
               f"archspec models are channels_last: did you mean {(shape[1], shape[2], shape[0])}?"
               if looks_first else f"'{spec.name}' needs inputs of at least {min_size}x{min_size} (min_input)")
    if include_top and None in shape and shape != default:
        refuse(f"If `include_top` is True, you should specify a static `input_shape`. Received: "
               f"input_shape={shape}")
    return options


def _options(options: dict[str, Any]) -> dict[str, Any]:
    if "input_shape" in options and options["input_shape"] is not None:
        options = {**options, "input_shape": tuple(options["input_shape"])}
    return options

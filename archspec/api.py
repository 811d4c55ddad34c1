"""The Python API. Everything up to ``build`` is pure Python; ``build`` imports Keras on first use."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.builder import BuildOptions, expand as _expand
from archspec.graph.features import feature_taps
from archspec.graph.ir import Graph
from archspec.graph.validate import validate_file as _validate_file, validate_spec
from archspec.lang.checks import check_spec
from archspec.lang.compose import Spec, SpecCache, apply_overrides, load_spec as _load_spec
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.weights import published as _published

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
          limits: Limits = DEFAULT_LIMITS, features: bool | Iterable[str] | None = None,
          **options: Any) -> "keras.Model":
    """Compile a spec to a ``keras.Model`` with the arguments of ``keras.applications`` constructors.

    ``options`` are ``include_top``, ``pooling``, ``classes``, ``classifier_activation`` and ``input_shape``;
    as in keras.applications, a model without its top takes a variable ``(None, None, C)`` input unless an
    ``input_shape`` or ``input_tensor`` says otherwise, and the same input checks apply (every refusal is a
    :class:`SpecError`, a ``ValueError`` that names the spec line). ``weights`` is ``None``, ``"imagenet"``
    (the spec's published files: docs/validation.md, "Published weights: the trust policy") or a path to a Keras weight file (legacy
    ``.h5`` or Keras 3 ``.weights.h5``). The weight file is checked against the graph first, so a mismatch
    names the layer, both shapes and the spec line that made the layer, instead of a Keras traceback.

    ``features`` (``["P3", "P4", "P5"]``, or ``True`` for every level the spec taps) returns the backbone
    without its top, its outputs a dict of those pyramid levels (docs/dense-prediction.md).
    """
    loaded = load_spec(source, overrides, limits)
    taps = None
    if features is not None and features is not False:
        taps = feature_layers(loaded, features, limits)
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
        options = keras_input_options(loaded, options, weights, variable=True, data_format=_data_format())
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
        options = keras_input_options(loaded, options, weights, variable=True)
    elif not known:
        options = keras_input_options(loaded, options, weights, variable=True, data_format=data_format)
    if imagenet:
        weights = published_weights(loaded, options.get("include_top", True), options.get("input_shape"),
                                    limits=limits)
        from archspec.weights.h5file import read_weight_file

        wfile = read_weight_file(weights)
    graph = layer_graph(loaded, None, limits, weights="imagenet" if imagenet else None, **options)
    if checkpoint is not None:
        model = _from_checkpoint(graph, checkpoint, backend, allow_partial, input_tensor=input_tensor, name=name)
    else:
        model = backend.build_model(graph, weights, by_name=by_name, allow_partial=allow_partial,
                                    input_tensor=input_tensor, name=name, wfile=wfile)
    return model if taps is None else _keras.feature_model(model, taps)


def feature_layers(spec: Source, features: bool | Iterable[str] = True, limits: Limits = DEFAULT_LIMITS,
                   overrides: Overrides = None) -> dict[str, str]:
    """Pyramid level -> the name of the layer it taps (``{"P3": "conv3_block4_out", ...}``), for the levels
    asked (``True``: all the spec declares), found at the spec's own input size (graph/features.py)."""
    loaded = load_spec(spec, overrides, limits)
    declared = feature_taps(layer_graph(loaded, None, limits, include_top=False))
    where = loaded.where(("stages",))
    if not declared:
        raise SpecError(Diagnostic(f"'{loaded.name}' declares no feature taps", where,
                                   hint="mark the blocks whose outputs are pyramid levels with 'tap: true' "
                                        "(docs/spec-language.md, 'Feature taps'); a spec with an open input "
                                        "size has none either"))
    wanted = list(declared) if features is True else [str(f) for f in features]  # type: ignore[union-attr]
    unknown = [f for f in wanted if f not in declared]
    if unknown or not wanted:
        raise SpecError(Diagnostic(f"'{loaded.name}' has no feature level {', '.join(map(repr, unknown)) or '(none asked)'}",
                                   where, hint=f"its levels: {', '.join(declared)}"))
    return {level: declared[level].layer.name for level in dict.fromkeys(wanted)}


def _from_checkpoint(graph: Graph, checkpoint: Any, backend: Any, allow_partial: bool, **kwargs: Any) -> "keras.Model":
    """Build with a PyTorch checkpoint's weights: converted through the transfer plan into a Keras weight file
    (the one path ``archspec convert`` writes), loaded by name; what the plan leaves out is a warning
    (``SkippedWeightsWarning``: a new classifier, tensors of a top the model lacks)."""
    import tempfile
    import warnings

    from archspec.weights.h5file import read_weight_file
    from archspec.weights.torch_plan import convert, skipped

    with tempfile.TemporaryDirectory(prefix="archspec-") as folder:
        converted = Path(folder) / "checkpoint.h5"
        plan = convert(graph, checkpoint, converted, allow_partial)
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


def published_file(spec: Spec, include_top: bool = True, input_shape: tuple | None = None,
                   weights: str = "imagenet", limits: Limits = DEFAULT_LIMITS) -> dict[str, str | None]:
    """The ``file``, ``url`` and ``hash`` a spec's ``published`` entry names for these build options (pure
    Python, nothing fetched; see :func:`archspec.weights.published.published_file`)."""
    return _published.published_file(spec, include_top, input_shape, weights, limits)


def published_weights(spec: Spec, include_top: bool = True, input_shape: tuple | None = None,
                      weights: str = "imagenet", limits: Limits = DEFAULT_LIMITS) -> str:
    """The local path of the spec's published weights (``weights="imagenet"``), from the Keras cache or
    downloaded under the trust policy of docs/validation.md (HTTPS only, bounded, hash checked before it is
    kept; see :mod:`archspec.weights.published`)."""
    return _published.published_weights(spec, include_top, input_shape, weights, limits)


def keras_input_options(spec: Spec, options: dict[str, Any], weights: Any = None,
                        variable: bool = False, data_format: str = "channels_last") -> dict[str, Any]:
    """``options`` with the input shape keras.applications' ``obtain_input_shape`` would use, or a located
    :class:`SpecError` (a ``ValueError``) where it refuses one.

    ``variable``: without the top and without an ``input_shape``, the input's spatial sizes are open
    (what ``build`` does, as keras does, unless the spec says ``variable_input: false``); the analyses (``expand``, ``summary``) keep the spec's sizes so
    they can count multiply-accumulates. The family's minimum size is the spec's ``min_input``.
    ``data_format`` is how ``input_shape`` is written: ``channels_first`` reads ``(C, H, W)`` as keras does;
    the options returned are always channels-last ``(H, W, C)``, as the graph is.
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
        if variable and not include_top and len(default) == 3 and data.get("variable_input", True):
            options["input_shape"] = (None, None, 3 if weights == "imagenet" else default[-1])
        return options
    first = data_format == "channels_first"

    def shown(hwc: tuple) -> tuple:  # a shape as the user writes it
        return (hwc[2], hwc[0], hwc[1]) if first else hwc

    if len(shape) != 3 or any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
                              for d in shape):
        refuse(f"`input_shape` must be a tuple of three integers "
               f"({'channels, height, width' if first else 'height, width, channels'}); Received: "
               f"input_shape={shape}")
    if first:
        shape = (shape[1], shape[2], shape[0])
    given = shown(shape)
    if shape[-1] is None:
        refuse(f"the number of input channels must be given; Received: input_shape={given}",
               "with keras.config.image_data_format() 'channels_first' the shape is (channels, height, width)"
               if first else "archspec models are channels_last: (height, width, channels)")
    if weights == "imagenet" and include_top and default and shape != default and \
            shape not in _published.published_sizes(spec):
        refuse("When setting `include_top=True` and loading `imagenet` weights, `input_shape` should be "
               f"{shown(default)}.  Received: input_shape={given}")
    if weights == "imagenet" and shape[-1] != 3:
        refuse(f"The input must have 3 channels; Received `input_shape={given}`")
    min_size = data.get("min_input")
    if isinstance(min_size, int) and any(d is not None and d < min_size for d in shape[:2]):
        if first:  # (H, W, C) written under channels_first, or (C, H, W) under channels_last
            looks_other, other = given[-1] in (1, 3, 4) and given[0] not in (1, 3, 4), (given[2], given[0], given[1])
        else:
            looks_other, other = given[0] in (1, 3, 4) and given[-1] not in (1, 3, 4), (given[1], given[2], given[0])
        refuse(f"Input size must be at least {min_size}x{min_size}; Received: input_shape={given}",
               f"keras.config.image_data_format() is {data_format!r}: did you mean {other}?"
               if looks_other else f"'{spec.name}' needs inputs of at least {min_size}x{min_size} (min_input)")
    if include_top and None in shape and shape != default:
        refuse(f"If `include_top` is True, you should specify a static `input_shape`. Received: "
               f"input_shape={given}")
    options["input_shape"] = shape
    return options


def _options(options: dict[str, Any]) -> dict[str, Any]:
    if "input_shape" in options and options["input_shape"] is not None:
        options = {**options, "input_shape": tuple(options["input_shape"])}
    return options

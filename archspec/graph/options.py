"""The build options resolved once: the input shape keras.applications would use (its refusals as located
errors), then the typed graph for those options. Pure Python, shared by the analyses and the Keras build."""

from __future__ import annotations

from typing import Any, Iterable

from archspec.errors import Diagnostic, SpecError
from archspec.graph.builder import BuildOptions, expand
from archspec.graph.features import feature_taps
from archspec.graph.ir import Graph
from archspec.lang.checks import check_spec
from archspec.lang.compose import Spec
from archspec.limits import DEFAULT_LIMITS, Limits


def spec_graph(spec: Spec, options: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> Graph:
    """The typed layer graph of a loaded spec for options already resolved (:func:`keras_input_options`).

    The static checks run first, so a broken spec reports every independent problem at once, as
    ``validate`` does; expansion then finds what depends on values and shapes.
    """
    problems = [d for d in check_spec(spec, limits) if d.severity == "error"]
    if problems:
        raise SpecError(problems)
    return expand(spec, BuildOptions(**options), limits)


def tapped_layers(spec: Spec, features: bool | Iterable[str] = True,
                  limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """Pyramid level -> the name of the layer it taps, for the levels asked (``True``: all the spec declares),
    found at the spec's own input size (graph/features.py); see :func:`archspec.feature_layers`."""
    declared = feature_taps(spec_graph(spec, keras_input_options(spec, {"include_top": False}), limits))
    where = spec.where(("stages",))
    if not declared:
        raise SpecError(Diagnostic(f"'{spec.name}' declares no feature taps", where,
                                   hint="mark the blocks whose outputs are pyramid levels with 'tap: true' "
                                        "(docs/spec-language.md, 'Feature taps'); a spec with an open input "
                                        "size has none either"))
    wanted = list(declared) if features is True else [str(f) for f in features]  # type: ignore[union-attr]
    unknown = [f for f in wanted if f not in declared]
    if unknown or not wanted:
        raise SpecError(Diagnostic(f"'{spec.name}' has no feature level {', '.join(map(repr, unknown)) or '(none asked)'}",
                                   where, hint=f"its levels: {', '.join(declared)}"))
    return {level: declared[level].layer.name for level in dict.fromkeys(wanted)}


def keras_input_options(spec: Spec, options: dict[str, Any], weights: Any = None,
                        variable: bool = False, data_format: str = "channels_last",
                        any_channels: bool = False) -> dict[str, Any]:
    """``options`` with the input shape keras.applications' ``obtain_input_shape`` would use, or a located
    :class:`SpecError` (a ``ValueError``) where it refuses one.

    ``variable``: without the top and without an ``input_shape``, the input's spatial sizes are open
    (what ``build`` does, as keras does, unless the spec says ``variable_input: false``); the analyses (``expand``, ``summary``) keep the spec's sizes so
    they can count multiply-accumulates. The family's minimum size is the spec's ``min_input``.
    ``data_format`` is how ``input_shape`` is written: ``channels_first`` reads ``(C, H, W)`` as keras does;
    the options returned are always channels-last ``(H, W, C)``, as the graph is. ``any_channels``: the
    published weights' input convolution is adapted to the input's channel count (``adapt_input_channels``).
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
    rgb = (*shape[:2], 3) if any_channels else shape  # the shape the published weights are checked against
    if weights == "imagenet" and include_top and default and rgb != default and rgb not in _published_sizes(spec):
        refuse("When setting `include_top=True` and loading `imagenet` weights, `input_shape` should be "
               f"{shown(default)}.  Received: input_shape={given}")
    if weights == "imagenet" and rgb[-1] != 3:
        refuse(f"The input must have 3 channels; Received `input_shape={given}`",
               "--adapt-input-channels (adapt_input_channels=True) adapts the weights' input convolution to "
               "another channel count, as timm's in_chans does")
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


def _published_sizes(spec: Spec) -> list[tuple]:
    """The other inputs the published ImageNet top file fits (``published.imagenet.sizes``: square, 3 channels),
    as keras.applications takes a default_size from such an input_shape."""
    entry = (spec.data.get("published") or {}).get("imagenet") or {}
    return [(size, size, 3) for size in entry.get("sizes") or ()]


def _options(options: dict[str, Any]) -> dict[str, Any]:
    if "input_shape" in options and options["input_shape"] is not None:
        options = {**options, "input_shape": tuple(options["input_shape"])}
    return options

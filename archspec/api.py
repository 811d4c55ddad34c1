"""The Python API: signatures and docstrings over the rooms that do the work (lang/ reads a spec, graph/ resolves
options and expands, weights/ reads weight files, backend/ builds Keras). Everything up to ``build`` is pure
Python; ``build`` imports Keras on first use.

``__all__`` is the whole surface, and the CLI uses no other: besides the functions defined here it re-exports,
documented and typed where they live, ``Spec`` and ``SpecCache`` (what ``load_spec`` returns and shares),
``allowed_paths`` (more folders imports/extends may reach, as ``--allow-path``), ``bundled_names`` (the zoo),
``looks_like_spec``, ``validate_files`` (a project's files together), ``schema_text`` (the JSON Schema) and
``published_file``/``published_weights`` (a spec's published weights under the trust policy). A helper only the
CLI needs is imported by the CLI from its own module, never passed through here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from archspec.backend.build import build_spec
from archspec.errors import Diagnostic, SpecError
from archspec.graph.ir import Graph
from archspec.graph.options import keras_input_options, spec_graph, tapped_layers
from archspec.graph.project import validate_files
from archspec.graph.validate import validate_file as _validate_file, validate_spec
from archspec.lang.compose import Spec, SpecCache, allowed_paths, apply_overrides, load_spec as _load_spec, looks_like_spec
from archspec.lang.schema import schema_text
from archspec.lang.sources import bundled_names
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.weights.published import published_file, published_weights

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import networkx as nx

__all__ = [
    "Overrides", "Source", "Spec", "SpecCache", "allowed_paths", "build", "bundled_names", "expand", "feature_layers",
    "layer_graph", "load_spec", "looks_like_spec", "published_file", "published_weights", "schema_text", "validate",
    "validate_file", "validate_files",
]

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
    return spec_graph(loaded, keras_input_options(loaded, options), limits)


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
          adapt_input_channels: bool = False, **options: Any) -> "keras.Model":
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

    ``adapt_input_channels``: pretrained weights (a weight file, a checkpoint or ``"imagenet"``) for another
    input channel count than the model's (1-channel images, RGB weights) fill the convolution that reads the
    input by timm's ``in_chans`` rule: the filters summed for one channel, else repeated and rescaled
    (docs/pytorch.md, "Other input channels"). Without it such weights are refused, naming this option.
    """
    return build_spec(load_spec(source, overrides, limits), dict(options), weights=weights, input_tensor=input_tensor,
                      name=name, by_name=by_name, allow_partial=allow_partial, limits=limits, features=features,
                      adapt_input_channels=adapt_input_channels)


def feature_layers(spec: Source, features: bool | Iterable[str] = True, limits: Limits = DEFAULT_LIMITS,
                   overrides: Overrides = None) -> dict[str, str]:
    """Pyramid level -> the name of the layer it taps (``{"P3": "conv3_block4_out", ...}``), for the levels
    asked (``True``: all the spec declares), found at the spec's own input size (graph/features.py)."""
    return tapped_layers(load_spec(spec, overrides, limits), features, limits)

"""The Python API. Everything up to ``build`` is pure Python; ``build`` imports Keras on first use."""

from __future__ import annotations

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
    build_options = BuildOptions(**_options(options))
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


def build(source: Source, *, weights: str | Path | None = None, by_name: bool = False,
          allow_partial: bool = False, overrides: Overrides = None, limits: Limits = DEFAULT_LIMITS,
          **options: Any) -> "keras.Model":
    """Compile a spec to a ``keras.Model``, optionally loading a Keras HDF5 weight file.

    The weight file is checked against the graph first, so a mismatch names the layer, both shapes and
    the spec line that made the layer, instead of a Keras traceback.
    """
    graph = layer_graph(source, overrides, limits, **options)
    try:
        from archspec.backend.keras_emitters import emit_model
        from archspec.backend.load import build_with_weights
    except ImportError as exc:  # the base install is pure Python; Keras comes with the extra
        raise SpecError(Diagnostic(f"building a Keras model needs TensorFlow ({exc})",
                                   Location(graph.file), hint="pip install 'archspec[tensorflow]'")) from None
    if weights is not None:
        return build_with_weights(graph, weights, by_name=by_name, allow_partial=allow_partial)
    return emit_model(graph)


def _options(options: dict[str, Any]) -> dict[str, Any]:
    if "input_shape" in options and options["input_shape"] is not None:
        options = {**options, "input_shape": tuple(options["input_shape"])}
    return options

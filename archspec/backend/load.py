"""Load a Keras HDF5 weight file into an emitted model after checking it against the graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.errors import Diagnostic, Location, SpecError
from archspec.weights.h5file import read_weight_file
from archspec.weights.match import diagnostics, match


def build_with_weights(graph: Any, path: str | Path, by_name: bool = False, allow_partial: bool = False) -> Any:
    """Check ``path``, emit the model, load it; random initialisation is skipped when the check shows
    that the file sets every weight (so ``build(weights=f)`` is faster than build-then-load)."""
    from archspec.backend.keras_emitters import emit_model

    report = check_weights(graph, path, by_name, allow_partial)
    model = emit_model(graph, initialize=not report.complete)
    _keras_load(model, path, by_name, allow_partial)
    return model


def check_weights(graph: Any, path: str | Path, by_name: bool = False, allow_partial: bool = False) -> Any:
    """The match of ``path`` against the graph; raises :class:`SpecError` on anything that stops a load."""
    name = str(path)
    if not name.endswith((".h5", ".hdf5")) or name.endswith(".weights.h5"):
        # Keras picks the reader by suffix; any other name would fail inside Keras with a traceback
        raise SpecError(Diagnostic("weight files must be legacy Keras HDF5 files named *.h5 or *.hdf5 "
                                   "(not *.weights.h5)", Location(name)))
    wfile = read_weight_file(path)
    report = match(graph, wfile, by_name=by_name)
    problems = diagnostics(report, graph, wfile, allow_partial=allow_partial)
    if problems:
        raise SpecError(problems)
    return report


def _keras_load(model: Any, path: str | Path, by_name: bool, allow_partial: bool) -> None:
    if by_name:
        model.load_weights(str(path), by_name=True, skip_mismatch=allow_partial)
    else:
        model.load_weights(str(path))

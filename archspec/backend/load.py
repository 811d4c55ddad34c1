"""Load a Keras HDF5 weight file into an emitted model after checking it against the graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.ir import Graph
from archspec.weights.match import check_weights, diagnostics


def build_with_weights(graph: Graph, path: str | Path, by_name: bool = False, allow_partial: bool = False) -> Any:
    """Check ``path``, emit the model, load it; random initialisation is skipped when the check shows
    that the file sets every weight (so ``build(weights=f)`` is faster than build-then-load)."""
    from archspec.backend.keras_emitters import emit_model

    name = str(path)
    if not name.endswith((".h5", ".hdf5")) or name.endswith(".weights.h5"):
        # Keras picks the reader by suffix; any other name would fail inside Keras with a traceback
        raise SpecError(Diagnostic("weight files must be legacy Keras HDF5 files named *.h5 or *.hdf5 "
                                   "(not *.weights.h5)", Location(name)))
    result = check_weights(graph, path, "name" if by_name else "order")
    problems = diagnostics(result.reports[0], graph, result.wfile, allow_partial=allow_partial)
    if problems:
        raise SpecError(problems)
    model = emit_model(graph, initialize=not result.loads)
    if by_name:
        model.load_weights(name, by_name=True, skip_mismatch=allow_partial)
    else:
        model.load_weights(name)
    return model

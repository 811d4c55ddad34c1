"""Write Keras weight files with h5py alone, in the two layouts :mod:`archspec.weights.h5file` reads.

* Keras 3 ``.weights.h5`` (what ``model.save_weights`` writes): ``layers/<class path>/vars/<i>``, the
  class path from :func:`archspec.weights.match.keras3_keys`, the layer's name in ``vars.attrs['name']``;
  ``model.load_weights`` reads it without archspec.
* legacy ``.h5`` (the published keras.applications files): root attribute ``layer_names`` in
  ``model.layers`` order, one group per layer with ``weight_names``.

Only the layers given are written; the file is replaced atomically (:mod:`archspec.fileio`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.fileio import replacing
from archspec.graph.ir import Graph
from archspec.graph.order import keras_layer_order
from archspec.weights.match import keras3_keys

_ATTRIBUTE_LIMIT = 64000  # bytes; h5py cannot store a larger attribute in an object header


def is_keras3_path(path: str | Path) -> bool:
    """Keras 3 routes ``.weights.h5`` to its own format and any other ``.h5`` to the legacy reader."""
    return str(path).lower().endswith(".weights.h5")


def write_weights(path: str | Path, graph: Graph, arrays: dict[int, list[Any]]) -> None:
    """Write ``arrays`` (node id -> the layer's weights in Keras order) in the layout the suffix selects."""
    import h5py
    import numpy as np

    order = [n for n in keras_layer_order(graph) if n in arrays or not graph.layers[n].weights]
    with replacing(path) as tmp, h5py.File(tmp, "w") as f:
        if is_keras3_path(path):
            keys = keras3_keys(graph)
            top = f.create_group("layers")
            for nid in order:
                group = top.create_group(keys[nid]).create_group("vars")
                group.attrs["name"] = graph.layers[nid].name
                for i, value in enumerate(arrays.get(nid, ())):
                    group.create_dataset(str(i), data=np.ascontiguousarray(value))
            f.create_group("vars").attrs["name"] = graph.name
            return
        names = [graph.layers[n].name for n in order if graph.layers[n].op != "input"]
        _string_list(f, "layer_names", names, np)
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"3")
        for nid in order:
            layer = graph.layers[nid]
            if layer.op == "input":
                continue
            group = f.create_group(layer.name)
            weight_names = [f"{w.name}:0" for w in layer.weights] if nid in arrays else []
            _string_list(group, "weight_names", weight_names, np)
            for name, value in zip(weight_names, arrays.get(nid, ())):
                group.create_dataset(name, data=np.ascontiguousarray(value))


def _string_list(node: Any, name: str, values: list[str], np: Any) -> None:
    """A list attribute, split into ``name0``, ``name1``, ... when too large for one (as Keras writes it)."""
    data = np.array([v.encode("utf8") for v in values], dtype=bytes) if values else np.array([], dtype="S1")
    chunks = max(1, -(-data.nbytes // _ATTRIBUTE_LIMIT))
    if chunks == 1:
        node.attrs[name] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        node.attrs[f"{name}{i}"] = part

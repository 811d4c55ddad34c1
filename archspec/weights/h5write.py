"""Write Keras weight files with h5py alone, in the two layouts :mod:`archspec.weights.h5file` reads.

* Keras 3 ``.weights.h5`` (what ``model.save_weights`` writes): ``layers/<class path>/vars/<i>``, the
  class path from :func:`archspec.weights.match.keras3_keys`, the layer's name in ``vars.attrs['name']``; a
  nested layer has empty ``vars`` and its members under ``layers/<class path>/layers/<member path>/vars``
  (:func:`archspec.weights.match.member_keys`); ``model.load_weights`` reads it without archspec.
* legacy ``.h5`` (the published keras.applications files): root attribute ``layer_names`` in
  ``model.layers`` order, one group per layer with ``weight_names``; a nested layer's group holds its
  members' weights as ``<member>/<weight>:0``, in :meth:`archspec.graph.ir.Graph.stored_weights` order.

Only the layers given are written (a nested layer when all its weighted members are); the file is replaced
atomically (:mod:`archspec.fileio`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.fileio import replacing
from archspec.graph.ir import Graph, Layer
from archspec.graph.order import keras_layer_order
from archspec.weights.match import keras3_keys, member_keys

_ATTRIBUTE_LIMIT = 64000  # bytes; h5py cannot store a larger attribute in an object header


def is_keras3_path(path: str | Path) -> bool:
    """Keras 3 routes ``.weights.h5`` to its own format and any other ``.h5`` to the legacy reader."""
    return str(path).lower().endswith(".weights.h5")


def write_weights(path: str | Path, graph: Graph, arrays: dict[int, list[Any]]) -> None:
    """Write ``arrays`` (node id -> the layer's weights in Keras order; a nested layer's are its members')
    in the layout the suffix selects."""
    import h5py
    import numpy as np

    order = [n for n in keras_layer_order(graph) if _given(graph, n, arrays)]
    with replacing(path) as tmp, h5py.File(tmp, "w") as f:
        if is_keras3_path(path):
            keys = keras3_keys(graph)
            top = f.create_group("layers")
            for nid in order:
                group = top.create_group(keys[nid])
                _keras3_vars(group, graph.layers[nid], arrays, np)
                if graph.layers[nid].members:
                    inner = group.create_group("layers")
                    for mid, key in member_keys(graph, graph.layers[nid]).items():
                        _keras3_vars(inner.create_group(key), graph.layers[mid], arrays, np)
            f.create_group("vars").attrs["name"] = graph.name
            return
        names = [graph.layers[n].name for n in order if not graph.layers[n].is_input]
        _string_list(f, "layer_names", names, np)
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"3")
        for nid in order:
            layer = graph.layers[nid]
            if layer.is_input:
                continue
            group = f.create_group(layer.name)
            stored = _legacy_weights(graph, layer, arrays)
            _string_list(group, "weight_names", [name for name, _ in stored], np)
            for name, value in stored:
                group.create_dataset(name, data=np.ascontiguousarray(value))


def _given(graph: Graph, nid: int, arrays: dict[int, list[Any]]) -> bool:
    """Whether the file gets this entry of ``model.layers``: it has no weights, or all are given (for a nested
    layer, those of every weighted member: the loaders set a nested layer's weights all at once)."""
    layer = graph.layers[nid]
    return all(n in arrays or not graph.layers[n].weights for n in layer.members or (nid,))


def _keras3_vars(group: Any, layer: Layer, arrays: dict[int, list[Any]], np: Any) -> None:
    """A layer's own variables, ``vars/0..n-1`` (none for a nested layer or a layer without weights)."""
    out = group.create_group("vars")
    out.attrs["name"] = layer.name
    for i, value in enumerate(arrays.get(layer.id, ())):
        out.create_dataset(str(i), data=np.ascontiguousarray(value))


def _legacy_weights(graph: Graph, layer: Layer, arrays: dict[int, list[Any]]) -> list[tuple[str, Any]]:
    """(dataset name, array) of a layer's group in a legacy file; for a nested layer its members' weights,
    named ``<member>/<weight>:0`` and ordered as :meth:`Graph.stored_weights` (trainable ones first)."""
    if not layer.members:
        return [(f"{w.name}:0", value) for w, value in zip(layer.weights, arrays.get(layer.id, ()))]
    return [(f"{graph.layers[m].name}/{graph.layers[m].weights[i].name}:0", arrays[m][i])
            for m, i in graph.stored_order(layer)]


def _string_list(node: Any, name: str, values: list[str], np: Any) -> None:
    """A list attribute, split into ``name0``, ``name1``, ... when too large for one (as Keras writes it)."""
    data = np.array([v.encode("utf8") for v in values], dtype=bytes) if values else np.array([], dtype="S1")
    chunks = max(1, -(-data.nbytes // _ATTRIBUTE_LIMIT))
    if chunks == 1:
        node.attrs[name] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        node.attrs[f"{name}{i}"] = part

"""Read the layer/weight layout of a Keras HDF5 file with h5py only (no TensorFlow).

Two layouts exist: the legacy *weights* file the published ImageNet weights use (root attribute
``layer_names``, each layer group with ``weight_names``), and full-model ``.h5`` files that hold the
same structure under a ``model_weights`` group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archspec.errors import Diagnostic, Location, SpecError


@dataclass(frozen=True)
class FileLayer:
    name: str
    weights: tuple[tuple[str, tuple], ...]  # (weight name, shape) in stored order


@dataclass(frozen=True)
class WeightFile:
    path: str
    layout: str  # "weights" | "model"
    layers: tuple[FileLayer, ...]  # every layer listed, in file order

    @property
    def weighted(self) -> list[FileLayer]:
        return [layer for layer in self.layers if layer.weights]


def _text(value: object) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _string_list(attrs: Any, name: str) -> list[str] | None:
    """A list attribute, also when h5py had to split it into ``name0``, ``name1``, ... (as Keras does)."""
    if name in attrs:
        return [_text(v) for v in attrs[name]]
    if f"{name}0" not in attrs:
        return None
    out, chunk = [], 0
    while f"{name}{chunk}" in attrs:
        out += [_text(v) for v in attrs[f"{name}{chunk}"]]
        chunk += 1
    return out


def read_weight_file(path: str | Path) -> WeightFile:
    """Parse the file's layer list; unreadable or non-Keras files raise a located :class:`SpecError`."""
    where = Location(str(path))
    try:
        import h5py
    except ImportError:  # the base install is pure Python; h5py comes with archspec[tensorflow]
        raise SpecError(Diagnostic("reading HDF5 weight files needs h5py", where,
                                   hint="pip install h5py, or archspec[tensorflow]")) from None
    if not Path(path).is_file():
        raise SpecError(Diagnostic("weight file not found", where))
    try:
        with h5py.File(path, "r") as f:
            layout, group = "weights", f
            if _string_list(f.attrs, "layer_names") is None and "model_weights" in f:
                layout, group = "model", f["model_weights"]
            layer_names = _string_list(group.attrs, "layer_names")
            if layer_names is None:
                raise SpecError(Diagnostic(
                    "not a Keras HDF5 weights file (no 'layer_names' attribute at the root or in 'model_weights')",
                    where, hint="'.weights.h5' files of Keras 3 model.save_weights() are not the published "
                    "legacy layout" if str(path).endswith(".weights.h5") else None))
            layers = []
            for name in layer_names:
                g = group[name]
                names = _string_list(g.attrs, "weight_names") or []
                layers.append(FileLayer(name, tuple((w, tuple(g[w].shape)) for w in names)))
    except SpecError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise SpecError(Diagnostic(f"cannot read HDF5 weight file: {exc}", where)) from None
    return WeightFile(str(path), layout, tuple(layers))

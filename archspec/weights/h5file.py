"""Read the layer/weight layout of a Keras HDF5 file with h5py only (no TensorFlow).

Three layouts exist: the legacy *weights* file the published ImageNet weights use (root attribute
``layer_names``, each layer group with ``weight_names``), full-model ``.h5`` files that hold the
same structure under a ``model_weights`` group, and the Keras 3 ``.weights.h5`` file that
``model.save_weights`` writes (``layers/<class path>/vars/<i>``, the layer's name an attribute of ``vars``;
a nested model such as a ``keras.Sequential`` adds its own ``layers/<class path>/...`` group under its path).
The layout is told from the content, not the file name.

The file may come from anyone, so it is read defensively: links and external storage are refused, every
attribute is bounded (:data:`ATTRIBUTE_BYTES`, :data:`ATTRIBUTE_ITEMS`) before it is read, a weight passed
through an HDF5 filter archspec does not know is refused before libhdf5 would look for a plugin on disk, and
the reading itself happens in a child process (:mod:`archspec.weights.isolate`), since libhdf5 can crash on
crafted bytes: a crash is a located error. :func:`read_arrays` reads the weights the same way for
``check-weights`` and ``build``, so a chunk that does not decompress fails both alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archspec.errors import Diagnostic, Location, SpecError, printable
from archspec.fileio import check_input
from archspec.weights.isolate import isolated
from archspec.weights.names import check_name, shown

ATTRIBUTE_BYTES = 4 * 2**20  # of one attribute in the file (Keras splits its lists at 64 kB)
ATTRIBUTE_ITEMS = 100_000  # names in one list attribute, all its chunks together (the default layers limit)
# the filters libhdf5 and h5py bring (gzip, shuffle, fletcher32, szip, nbit, scaleoffset, lzf); any other
# would send libhdf5 looking for a plugin library on disk
KNOWN_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf"}


@dataclass(frozen=True)
class FileLayer:
    name: str
    weights: tuple[tuple[str, tuple], ...]  # (weight name, shape) in stored order
    datasets: tuple[str, ...] = ()  # the HDF5 path of each weight, in the same order
    key: str = ""  # Keras 3 files: the layer's path under 'layers' (class name + counter, e.g. 'conv2d_3')
    members: tuple[FileLayer, ...] = ()  # Keras 3 files: a nested model's layers (keys relative to it)


@dataclass(frozen=True)
class WeightFile:
    path: str
    layout: str  # "weights" | "model" | "keras3"
    layers: tuple[FileLayer, ...]  # every layer listed, in file order
    filtered: frozenset[str] = frozenset()  # HDF5 paths of the weights stored through a filter (compressed)

    @property
    def weighted(self) -> list[FileLayer]:
        """The layers that hold weights, a nested model's counting once (as one entry of ``model.layers``)."""
        return [layer for layer in self.layers if layer.weights or any(m.weights for m in layer.members)]


def _text(value: object) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _string_list(obj: Any, name: str, where: Location, h5py: Any) -> list[str] | None:
    """A list attribute, also when h5py had to split it into ``name0``, ``name1``, ... (as Keras does)."""
    if name in obj.attrs:
        return [_text(v) for v in _attribute(obj, name, where, h5py, ATTRIBUTE_ITEMS)]
    out: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in obj.attrs:
        out += [_text(v) for v in _attribute(obj, f"{name}{chunk}", where, h5py, ATTRIBUTE_ITEMS - len(out))]
        chunk += 1
    return out if chunk else None


def _attribute(obj: Any, name: str, where: Location, h5py: Any, items: int = 1) -> Any:
    """An attribute of strings, read after checking its type and size from its header (a 40 MB list of
    names became 2.8 GB of Python strings): at most ``items`` strings and :data:`ATTRIBUTE_BYTES` bytes."""
    attr = h5py.h5a.open(obj.id, name.encode("utf-8"))
    kind = attr.get_type()
    here = f"{obj.name.rstrip('/')}@{name}"
    count = 1 if attr.shape in ((), None) else math.prod(attr.shape)
    if count == 0:  # Keras writes an empty list of names as an empty float array
        return []
    if kind.get_class() != h5py.h5t.STRING:
        raise _refuse(where, here, f"attribute '{name}' does not hold text")
    size = count * kind.get_size()  # a variable-length string's text is in the file's heap, bounded by the file
    if count > items or size > ATTRIBUTE_BYTES:
        raise _refuse(where, here, f"attribute '{name}' holds {count} strings in {size} bytes, more than the "
                                   f"{max(items, 0)} strings and {ATTRIBUTE_BYTES} bytes read")
    return obj.attrs[name]


def read_weight_file(path: str | Path) -> WeightFile:
    """Parse the file's layer list; unreadable or non-Keras files raise a located :class:`SpecError`."""
    where = Location(str(path))
    try:
        import h5py
    except ImportError:  # the base install is pure Python; h5py comes with archspec[tensorflow]
        raise SpecError(Diagnostic("reading HDF5 weight files needs h5py", where,
                                   hint="pip install h5py, or archspec[tensorflow]")) from None
    check_input(path, "weight file")
    if not h5py.is_hdf5(str(path)):
        raise SpecError(Diagnostic(_not_hdf5(path), where, hint="pass a Keras weight file: legacy HDF5 (.h5) or "
                                   "Keras 3 .weights.h5 (what model.save_weights writes)"))
    layout, layers, filtered = isolated(_read_layers, str(path), where=where, what="the HDF5 reader")
    return WeightFile(str(path), layout, tuple(_file_layer(layer) for layer in layers), frozenset(filtered))


def _file_layer(data: list) -> FileLayer:
    """A :class:`FileLayer` from the JSON the child process sent (:func:`_layer_data`)."""
    name, weights, datasets, key, members = data
    return FileLayer(name, tuple((w, tuple(shape)) for w, shape in weights), tuple(datasets), key,
                     tuple(_file_layer(m) for m in members))


def _layer_data(layer: FileLayer) -> list:
    return [layer.name, [[w, list(shape)] for w, shape in layer.weights], list(layer.datasets), layer.key,
            [_layer_data(m) for m in layer.members]]


def _read_layers(path: str) -> tuple[str, list, list[str]]:
    """In the child process: the layout and the layers of the file, as JSON data."""
    import h5py

    where = Location(path)
    try:
        with h5py.File(path, "r") as f:
            layout, group = "weights", f
            if _string_list(f, "layer_names", where, h5py) is None and "model_weights" in f:
                layout, group = "model", _member(f, "model_weights", where, h5py)
            layer_names = _string_list(group, "layer_names", where, h5py)
            if layer_names is None:
                if isinstance(f.get("layers", getlink=True), h5py.HardLink) and isinstance(f["layers"], h5py.Group):
                    layers = list(_keras3_layers(f, where, h5py))
                    return "keras3", [_layer_data(layer) for layer in layers], _filtered(f, layers)
                raise SpecError(Diagnostic(
                    "not a Keras HDF5 weights file (no 'layer_names' attribute at the root or in 'model_weights', and "
                    "no 'layers' group of a Keras 3 .weights.h5 file)", where,
                    hint="write weights with model.save_weights('w.weights.h5') or a full model with "
                         "model.save('m.h5')"))
            layers = []
            for name in layer_names:
                _check_name(name, group.name, where)
                g = _member(group, name, where, h5py)
                if not isinstance(g, h5py.Group):
                    raise _refuse(where, g.name, f"layer '{name}' is not an HDF5 group")
                names = _string_list(g, "weight_names", where, h5py) or []
                for w in names:
                    _check_name(w, g.name, where)
                layers.append(FileLayer(name, tuple((w, _weight_shape(g, w, where, h5py)) for w in names),
                                        tuple(f"{g.name}/{w}" for w in names)))
            filtered = _filtered(f, layers)
    except SpecError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError) as exc:
        raise SpecError(Diagnostic(f"cannot read HDF5 weight file: {_first_line(exc)}", where)) from None
    return layout, [_layer_data(layer) for layer in layers], filtered


def _filtered(f: Any, layers: list[FileLayer]) -> list[str]:
    """The weights stored through a filter: reading them runs a decompressor on the file's bytes."""
    paths = [p for layer in layers for part in (layer, *layer.members) for p in part.datasets]
    return [p for p in paths if f[p].id.get_create_plist().get_nfilters()]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return printable(text.splitlines()[0][:300]) if text else type(exc).__name__


def read_arrays(path: str | Path, datasets: list[str]) -> Any:
    """The arrays of ``datasets`` (HDF5 paths the reader listed), one at a time, as numpy arrays. A dataset
    that cannot be read (a chunk that does not decompress) is a located :class:`SpecError` at its path."""
    import h5py

    where = Location(str(path))
    with h5py.File(path, "r") as f:
        for name in datasets:
            try:
                yield f[name][()]
            except (OSError, ValueError, RuntimeError) as exc:
                raise _refuse(where, name, f"the data of weight '{name.rpartition('/')[2]}' cannot be read: "
                                           f"{_first_line(exc)}") from None


def check_arrays(path: str | Path, datasets: list[str]) -> None:
    """Read every one of ``datasets`` in a child process (what ``build`` will read), so that ``check-weights``
    refuses what a build would, and a crash while decompressing is a located error."""
    def read() -> None:
        for _ in read_arrays(path, datasets):
            pass

    if datasets:
        isolated(read, where=Location(str(path)), what="the HDF5 reader")


def _not_hdf5(path: str | Path) -> str:
    """What a non-HDF5 file probably is, for the refusal."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        head = b""
    if head.startswith(b"PK"):
        return ("cannot read HDF5 weight file: this is a zip archive (a Keras 3 '.keras' model?); load it with "
                "keras.saving.load_model and write its weights with model.save_weights('w.weights.h5')")
    return "cannot read HDF5 weight file: not an HDF5 file"


def _keras3_layers(f: Any, where: Location, h5py: Any, nested: bool = True) -> tuple[FileLayer, ...]:
    """The layers of a Keras 3 ``.weights.h5`` file: ``layers/<key>/vars/<0..n-1>``, name in ``vars.attrs``.

    A nested model (a Sequential inside a functional model) stores its layers the same way under
    ``layers/<key>/layers``; they become its ``members``. Specs nest one level, so deeper groups are not read.
    """
    top = _member(f, "layers", where, h5py)
    out = []
    for key in top.keys():
        _check_name(key, top.name, where)
        group = _member(top, key, where, h5py)
        if not isinstance(group, h5py.Group):
            raise _refuse(where, group.name, f"layer '{key}' is not an HDF5 group")
        members = _keras3_layers(group, where, h5py, nested=False) if nested and "layers" in group else ()
        if "vars" not in group:
            if members:
                out.append(FileLayer(key, (), (), key, members))
            continue
        vars_ = _member(group, "vars", where, h5py)
        name = _text(_attribute(vars_, "name", where, h5py)) if "name" in vars_.attrs else key
        _check_name(name, vars_.name, where)
        count = len(vars_.keys())
        if sorted(vars_.keys()) != sorted(str(i) for i in range(count)):
            raise _refuse(where, vars_.name, f"layer '{key}' has variables {sorted(vars_.keys())}, not 0..{count - 1}")
        weights = tuple((str(i), _weight_shape(vars_, str(i), where, h5py)) for i in range(count))
        out.append(FileLayer(name, weights, tuple(f"{vars_.name}/{i}" for i in range(count)), key, members))
    return tuple(out)


def _check_name(name: str, h5path: str, where: Location) -> None:
    """Names are echoed in reports: see :func:`archspec.weights.names.check_name`."""
    check_name(name, where, "name", h5path)


def _refuse(where: Location, h5path: str, message: str) -> SpecError:
    """A problem at one object of the file, pointed at by its HDF5 path."""
    return SpecError(Diagnostic(message, where, pointer=h5path))


def _member(group: Any, name: str, where: Location, h5py: Any) -> Any:
    """``group[name]``, following hard links only, one path component at a time.

    Soft links can loop and external links open other files (one pointing at ``/etc/passwd`` made the
    reader open it as HDF5); Keras writes neither, so both are refused wherever they appear.
    """
    obj = group.file if name.startswith("/") else group
    for part in (p for p in name.split("/") if p not in ("", ".")):
        here = f"{obj.name.rstrip('/')}/{part}"
        link = obj.get(part, getlink=True)
        if link is None:
            raise _refuse(where, here, f"'{name}' is listed but not in the file")
        if isinstance(link, h5py.ExternalLink):
            raise _refuse(where, here, f"'{name}' is an external link (to {shown(link.filename)!r}); links to other "
                                       "files are not followed")
        if isinstance(link, h5py.SoftLink):
            raise _refuse(where, here, f"'{name}' is a soft link (to {shown(link.path)!r}); links are not followed")
        obj = obj[part]
    return obj


_NUMERIC = "fiu"  # float, signed and unsigned integer: what Keras can assign to a weight


def _weight_shape(layer: Any, name: str, where: Location, h5py: Any) -> tuple:
    """The shape of one weight, after checking it is a plain numeric dataset stored in this file."""
    dset = _member(layer, name, where, h5py)
    if not isinstance(dset, h5py.Dataset):
        raise _refuse(where, dset.name, f"weight '{name}' is not a dataset")
    if dset.dtype.kind not in _NUMERIC or dset.dtype.names is not None or dset.dtype.subdtype is not None:
        raise _refuse(where, dset.name, f"weight '{name}' holds {dset.dtype} values, not numbers")
    if dset.shape is None:
        raise _refuse(where, dset.name, f"weight '{name}' is an empty dataset")
    if dset.is_virtual or dset.external:
        raise _refuse(where, dset.name, f"weight '{name}' keeps its data in other files (virtual or external "
                                        "storage), which is not read")
    plist = dset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in KNOWN_FILTERS:
            raise _refuse(where, dset.name, f"weight '{name}' is stored through HDF5 filter {code}, which is not "
                                            f"one of the filters read ({', '.join(KNOWN_FILTERS.values())}); "
                                            "filter plugins are not loaded")
    return tuple(dset.shape)

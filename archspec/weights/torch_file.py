"""Read PyTorch checkpoints: a ``state_dict`` (or a whole checkpoint holding one) as named numpy arrays.

Two formats, told by content rather than suffix:

* **safetensors** (``.safetensors``): an 8-byte little-endian header length, a JSON header (each tensor's
  dtype, shape and byte range) and the raw little-endian data. The plan needs the header alone and the
  arrays numpy alone, so checking such a file (``archspec check-weights``) needs neither torch nor
  TensorFlow. Every size the file states is
  bounded by the file's own size and checked before anything is allocated.
* **torch.save** files (``.pth``/``.pt``): read with ``torch.load(weights_only=True)``, the loader that
  refuses arbitrary pickled objects; torch is imported only then, and its absence is a located error
  naming the extra that installs it.

A checkpoint dict holding the weights under ``state_dict`` or ``model`` is unwrapped, and a ``module.``
prefix on every key (``nn.DataParallel``) is dropped.
"""

from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from archspec.errors import UNPRINTABLE, Diagnostic, Location, SpecError, printable

HEADER_LIMIT = 100 * 2**20  # bytes of JSON header; the safetensors format's own limit
MAX_RANK = 8
TORCH_EXTRA = "pip install 'archspec-cnn[torch]'"

# safetensors dtype -> (numpy dtype string, bytes per element); BF16 is widened to float32 on read
_DTYPES = {"F64": ("<f8", 8), "F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "I64": ("<i8", 8),
           "I32": ("<i4", 4), "I16": ("<i2", 2), "I8": ("i1", 1), "U8": ("u1", 1), "BOOL": ("?", 1)}


@dataclass
class Checkpoint:
    """A checkpoint's tensors: shapes up front, arrays on demand (``array(name)``, float32 numpy)."""

    path: str
    format: str  # "safetensors" | "torch"
    shapes: dict[str, tuple[int, ...]]
    _load: Callable[[str], Any] = field(repr=False)

    def array(self, name: str) -> Any:
        return self._load(name)


def read_checkpoint(path: str | Path) -> Checkpoint:
    """The tensors of a safetensors or torch.save file; anything else is a located :class:`SpecError`."""
    where = Location(str(path))
    if not Path(path).is_file():
        raise SpecError(Diagnostic("checkpoint file not found", where))
    kind = sniff(path)
    if kind == "safetensors":
        return _read_safetensors(path, where)
    if kind == "torch":
        return _read_torch(path, where)
    raise SpecError(Diagnostic("not a PyTorch checkpoint (neither a safetensors file nor a torch.save file)", where,
                               hint="pass a state_dict saved with torch.save (.pth, .pt) or a .safetensors file"))


def sniff(path: str | Path) -> str | None:
    """``"safetensors"``, ``"torch"`` (a zip archive or a legacy pickle) or ``None``, from the first bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):  # torch.save's zip holds <name>/data.pkl; a Keras .keras zip does not
        return "torch" if _torch_zip(path) else None
    if head[:1] == b"\x80":
        return "torch"
    if len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 1:
        return "safetensors"
    return None


def _torch_zip(path: str | Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist()[:100_000])
    except (OSError, zipfile.BadZipFile):
        return False


# ------------------------------------------------------------------------------------------ safetensors
def _read_safetensors(path: str | Path, where: Location) -> Checkpoint:
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if length > HEADER_LIMIT or length > size - 8:
            raise _bad(where, f"header length {length} exceeds {'the file' if length > size - 8 else '100 MiB'}")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(where, f"header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _bad(where, "header is not a JSON object")
    start, data_size = 8 + length, size - 8 - length
    entries: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        entries[_checked_name(name, where)] = _entry(name, info, data_size, where)
    spans = sorted((begin, end, name) for name, (_, _, begin, end) in entries.items() if end > begin)
    for (_, end, a), (begin, _, b) in zip(spans, spans[1:]):
        if begin < end:
            raise _bad(where, f"tensors {printable(a)!r} and {printable(b)!r} overlap")

    def load(name: str) -> Any:
        import numpy as np  # the arrays only: the plan (check-weights) needs the header alone

        dtype, shape, begin, end = entries[name]
        array = np.fromfile(path, dtype=_DTYPES[dtype][0], count=(end - begin) // _DTYPES[dtype][1],
                            offset=start + begin).reshape(shape)
        if dtype == "BF16":  # bfloat16 is the upper half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array.astype(np.float32)

    return Checkpoint(str(path), "safetensors", {k: v[1] for k, v in entries.items()}, load)


def _entry(name: str, info: Any, data_size: int, where: Location) -> tuple[str, tuple[int, ...], int, int]:
    shown = printable(name)
    if not isinstance(info, dict):
        raise _bad(where, f"entry {shown!r} is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in _DTYPES:
        raise _bad(where, f"tensor {shown!r} has unsupported dtype {printable(str(dtype))!r}")
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(_count(d) for d in shape):
        raise _bad(where, f"tensor {shown!r} has an invalid shape (a list of at most {MAX_RANK} sizes)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_count(o) for o in offsets) \
            or not offsets[0] <= offsets[1] <= data_size:
        raise _bad(where, f"tensor {shown!r} has data_offsets outside the file's {data_size} data bytes")
    count = 1
    for d in shape:
        count *= d
        if count * _DTYPES[dtype][1] > data_size:
            break
    if count * _DTYPES[dtype][1] != offsets[1] - offsets[0]:
        raise _bad(where, f"tensor {shown!r}: shape {tuple(shape)} of {dtype} does not fill its "
                          f"{offsets[1] - offsets[0]} bytes")
    return dtype, tuple(shape), offsets[0], offsets[1]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bad(where: Location, message: str) -> SpecError:
    return SpecError(Diagnostic(f"malformed safetensors file: {message}", where))


def _checked_name(name: str, where: Location) -> str:
    """Names are echoed in reports: one with a line break or escape sequence could forge output lines."""
    if UNPRINTABLE.search(name):
        raise SpecError(Diagnostic(f"tensor name {printable(name)!r} contains a control character", where))
    return name


# ------------------------------------------------------------------------------------------ torch.save
def _read_torch(path: str | Path, where: Location) -> Checkpoint:
    try:
        import torch
    except ImportError:
        raise SpecError(Diagnostic("reading a torch.save checkpoint (.pth, .pt) needs PyTorch, which is not "
                                   "installed", where, hint=f"{TORCH_EXTRA}, or convert the file to .safetensors "
                                   "(read without torch)")) from None
    try:
        try:
            data = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file; none is a traceback for the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(Diagnostic(f"cannot read torch checkpoint: {printable(first[:300])}", where)) from None
    tensors = _state_dict(data, torch, where)

    def load(name: str) -> Any:
        t = tensors[name].detach()
        return (t.float() if t.is_floating_point() or t.dtype == torch.bool else t).numpy().astype("float32")

    return Checkpoint(str(path), "torch", {k: tuple(t.shape) for k, t in tensors.items()}, load)


def _state_dict(data: Any, torch: Any, where: Location) -> dict[str, Any]:
    """The name -> tensor mapping of a state_dict or of a checkpoint dict that holds one."""
    if isinstance(data, dict):
        for key in ("state_dict", "model"):
            if isinstance(data.get(key), dict) and not isinstance(data.get(key), torch.Tensor):
                data = data[key]
                break
    if not isinstance(data, dict):
        raise SpecError(Diagnostic(f"the checkpoint holds a {type(data).__name__}, not a state_dict", where,
                                   hint="save model.state_dict(), not the model"))
    tensors = {_checked_name(str(k), where): v for k, v in data.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise SpecError(Diagnostic("the checkpoint holds no tensors (not a state_dict?)", where))
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors

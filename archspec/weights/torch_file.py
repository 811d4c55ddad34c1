"""Read PyTorch checkpoints: a ``state_dict`` (or a whole checkpoint holding one) as named numpy arrays.

Two formats, told by content rather than suffix:

* **safetensors** (``.safetensors``): an 8-byte little-endian header length, a JSON header (each tensor's
  dtype, shape and byte range) and the raw little-endian data. The plan needs the header alone and the
  arrays numpy alone, so checking such a file (``archspec check-weights``) needs neither torch nor
  TensorFlow. The header is bounded before it is parsed (:data:`HEADER_LIMIT` bytes, :data:`HEADER_VALUES`
  JSON values), a name given twice is refused, and every size it states is bounded by the file's own size
  and checked before anything is allocated.
* **torch.save** files (``.pth``/``.pt``): the zip directory is checked first (at most :data:`ZIP_DIRECTORY`
  bytes, no compressed entry, so nothing inflates; ``data.pkl`` at most :data:`PICKLE_LIMIT` bytes, nested at most :data:`NESTING_LIMIT`
  deep, scanned without building anything). Then a child process (:mod:`archspec.weights.isolate`) reads it
  with ``torch.load(weights_only=True)``, the loader that refuses arbitrary pickled objects, and writes its
  tensors as a safetensors file that this module reads as above: torch is never imported here, a crash of
  the loader is a located error, and only strided dense real tensors on the CPU pass (complex, sparse,
  quantized and meta tensors are refused by name). Without torch, reading one is a located error naming the
  extra that installs it.

A checkpoint dict holding the weights under ``state_dict`` or ``model`` is unwrapped, and a ``module.``
prefix on every key (``nn.DataParallel``) is dropped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickletools
import shutil
import struct
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from archspec.errors import Diagnostic, Location, SpecError, printable
from archspec.fileio import check_input
from archspec.weights.isolate import isolated
from archspec.weights.names import check_name, shown

HEADER_LIMIT = 100 * 2**20  # bytes of safetensors JSON header; the format's own limit
HEADER_VALUES = 2_000_000  # JSON values in that header (about 13 a tensor)
PICKLE_LIMIT = 4 * 2**20  # bytes of a torch.save file's data.pkl (a ResNet-50's is 40 kB)
NESTING_LIMIT = 100  # containers inside containers in data.pkl (a state_dict's is 5 deep)
ZIP_DIRECTORY = 16 * 2**20  # bytes of a torch.save archive's directory (about 100 per tensor storage)
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
    check_input(path, "checkpoint file")
    kind = sniff(path)
    if kind == "safetensors":
        return _read_safetensors(path, where)
    if kind == "torch":
        return _read_torch(path, where)
    raise SpecError(Diagnostic("not a PyTorch checkpoint (neither a safetensors file nor a torch.save file)", where,
                               hint="pass a state_dict saved with torch.save (.pth, .pt) or a .safetensors file"))


def sniff(path: str | Path) -> str | None:
    """``"safetensors"``, ``"torch"`` (a zip archive or a legacy pickle) or ``None``, from the first bytes.
    Only a regular file is opened (a FIFO would block)."""
    try:
        check_input(path, "file")
        with open(path, "rb") as f:
            head = f.read(9)
    except (OSError, SpecError):
        return None
    if head.startswith(b"PK\x03\x04"):  # torch.save's zip holds <name>/data.pkl; a Keras .keras zip does not
        return "torch" if _torch_zip(path) else None
    if head[:1] == b"\x80":
        return "torch"
    if len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 1:
        return "safetensors"
    return None


def _torch_zip(path: str | Path) -> bool:
    if _zip_directory(path) > ZIP_DIRECTORY:  # zipfile would build an object for every entry of the directory
        return True  # a torch archive as far as the first bytes tell; _check_archive refuses it
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist()[:100_000])
    except (OSError, zipfile.BadZipFile):
        return False


# ------------------------------------------------------------------------------------------ safetensors
def _read_safetensors(path: str | Path, where: Location, fmt: str = "safetensors") -> Checkpoint:
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if length > HEADER_LIMIT or length > size - 8:
            raise _bad(where, f"header length {length} exceeds {'the file' if length > size - 8 else '100 MiB'}")
        raw = f.read(length)
    values = sum(raw.count(c) for c in b"[{,:")  # an upper bound of the values parsing would make
    if values > HEADER_VALUES:
        raise _bad(where, f"header holds up to {values} JSON values, more than the {HEADER_VALUES} read")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique(where))
    except RecursionError:
        raise _bad(where, "header nests deeper than the JSON reader goes (a tensor entry is 3 deep)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise _bad(where, f"header is not JSON ({printable(str(exc)[:200])})") from None
    if not isinstance(header, dict):
        raise _bad(where, "header is not a JSON object")
    start, data_size = 8 + length, size - 8 - length
    entries: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        entries[check_name(name, where, "tensor name")] = _entry(name, info, data_size, where)
    spans = sorted((begin, end, name) for name, (_, _, begin, end) in entries.items() if end > begin)
    for (_, end, a), (begin, _, b) in zip(spans, spans[1:]):
        if begin < end:
            raise _bad(where, f"tensors {shown(a)!r} and {shown(b)!r} overlap")

    def load(name: str) -> Any:
        import numpy as np  # the arrays only: the plan (check-weights) needs the header alone

        dtype, shape, begin, end = entries[name]
        array = np.fromfile(path, dtype=_DTYPES[dtype][0], count=(end - begin) // _DTYPES[dtype][1],
                            offset=start + begin).reshape(shape)
        if dtype == "BF16":  # bfloat16 is the upper half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array.astype(np.float32)

    return Checkpoint(str(where.file), fmt, {k: v[1] for k, v in entries.items()}, load)


def _unique(where: Location) -> Callable[[list], dict]:
    """``object_pairs_hook`` refusing a key given twice (``json`` would keep the last one silently)."""
    def pairs(items: list) -> dict:
        out = dict(items)
        if len(out) < len(items):
            seen: set[str] = set()
            twice = next(k for k, _ in items if k in seen or seen.add(k))
            raise _bad(where, f"name {shown(twice)!r} is given twice in the header")
        return out
    return pairs


def _entry(name: str, info: Any, data_size: int, where: Location) -> tuple[str, tuple[int, ...], int, int]:
    name = shown(name)
    if not isinstance(info, dict):
        raise _bad(where, f"entry {name!r} is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in _DTYPES:
        raise _bad(where, f"tensor {name!r} has unsupported dtype {shown(str(dtype))!r}", _dtype_hint(dtype))
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(_count(d) for d in shape):
        raise _bad(where, f"tensor {name!r} has an invalid shape (a list of at most {MAX_RANK} sizes)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_count(o) for o in offsets) \
            or not offsets[0] <= offsets[1] <= data_size:
        raise _bad(where, f"tensor {name!r} has data_offsets outside the file's {data_size} data bytes")
    count = 1
    for d in shape:
        count *= d
        if count * _DTYPES[dtype][1] > data_size:
            break
    if count * _DTYPES[dtype][1] != offsets[1] - offsets[0]:
        raise _bad(where, f"tensor {name!r}: shape {tuple(shape)} of {dtype} does not fill its "
                          f"{offsets[1] - offsets[0]} bytes")
    return dtype, tuple(shape), offsets[0], offsets[1]


def _dtype_hint(dtype: Any) -> str | None:
    if isinstance(dtype, str) and dtype.startswith("C"):
        return "a complex tensor has no place in a real-valued Keras weight"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bad(where: Location, message: str, hint: str | None = None) -> SpecError:
    return SpecError(Diagnostic(f"malformed safetensors file: {message}", where, hint=hint))


# ------------------------------------------------------------------------------------------ torch.save
def _read_torch(path: str | Path, where: Location) -> Checkpoint:
    """Check the archive, then read it with torch in a child process into a safetensors file read here."""
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _no_torch(where)
    if zipfile.is_zipfile(path):
        _check_archive(path, where)
    folder = tempfile.mkdtemp(prefix="archspec-checkpoint-")
    try:
        copy = os.path.join(folder, "checkpoint.safetensors")
        isolated(_torch_to_safetensors, str(path), copy, where=where, what="the torch checkpoint reader")
        checkpoint = _read_safetensors(copy, where, fmt="torch")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    weakref.finalize(checkpoint, shutil.rmtree, folder, True)  # the arrays are read from the copy on demand
    return checkpoint


def _zip_directory(path: str | Path) -> int:
    """The size in bytes of a zip's central directory as its end record states it (zip64's too when there is
    one: ``zipfile`` reads and parses that many bytes, one object per entry), from the file's last 64 kB."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 2**16 - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return 0
    size = struct.unpack("<I", tail[at + 12:at + 16])[0]
    z64 = tail.rfind(b"PK\x06\x06", 0, at)
    if z64 >= 0 and len(tail) >= z64 + 48:
        size = max(size, struct.unpack("<Q", tail[z64 + 40:z64 + 48])[0])
    return size


def _check_archive(path: str | Path, where: Location) -> None:
    """A torch.save zip from its directory, before anything is inflated or unpickled: a directory of at
    most :data:`ZIP_DIRECTORY` bytes, every entry stored (torch.save compresses nothing; a compressed entry could
    inflate a thousandfold), ``data.pkl`` at most :data:`PICKLE_LIMIT` bytes, its objects nested at most
    :data:`NESTING_LIMIT` deep."""
    size = _zip_directory(path)
    if size > ZIP_DIRECTORY:
        raise SpecError(Diagnostic(f"the archive's directory is {size} bytes, more than the {ZIP_DIRECTORY} read (torch.save "
                                   "writes about 100 bytes per tensor)", where))
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            for info in entries:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                    raise SpecError(Diagnostic(f"archive entry {shown(info.filename)!r} is compressed ({info.compress_size}"
                                               f" bytes inflating to {info.file_size}); torch.save stores entries "
                                               "uncompressed, and archspec does not inflate them", where))
            pickles = [i for i in entries if i.filename.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise SpecError(Diagnostic(f"the archive holds {len(pickles)} data.pkl entries, not one", where))
            if pickles[0].file_size > PICKLE_LIMIT:
                raise SpecError(Diagnostic(f"data.pkl is {pickles[0].file_size} bytes, more than the {PICKLE_LIMIT} "
                                           "read (a state_dict's is a few kB per hundred tensors)", where))
            data = archive.read(pickles[0])
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise SpecError(Diagnostic(f"cannot read torch checkpoint: {printable(str(exc)[:200])}", where)) from None
    depth = _pickle_depth(data)
    if depth is None:
        raise SpecError(Diagnostic("cannot read torch checkpoint: data.pkl is not a valid pickle", where))
    if depth > NESTING_LIMIT:
        raise SpecError(Diagnostic(f"data.pkl nests objects more than {NESTING_LIMIT} deep (a state_dict's are 5 "
                                   "deep)", where))


_MUTATE = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}


def _pickle_depth(data: bytes) -> int | None:
    """How deep a pickle nests its objects, from its opcodes alone (nothing is built); it stops counting past
    :data:`NESTING_LIMIT`. ``None`` for bytes that are not a pickle."""
    stack: list[int] = []
    marks: list[int] = []
    memo: dict[Any, int] = {}
    deepest = 0
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name == "MARK":
                marks.append(len(stack))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(arg, 0))
            elif name == "DUP":
                stack.append(stack[-1])
            elif name == "STOP":
                break
            else:
                sliced = pickletools.markobject in op.stack_before
                popped: list[int] = []
                if sliced:
                    popped = stack[marks[-1]:]
                    del stack[marks.pop():]
                fixed = len(op.stack_before) - (2 if sliced else 0)
                if fixed:
                    popped[:0] = stack[-fixed:]
                    del stack[-fixed:]
                if name == "POP_MARK" or not op.stack_after:
                    continue
                inner = max(popped[1:] if name in _MUTATE else popped, default=-1) + 1 if popped else 0
                depth = max(popped[0], inner) if name in _MUTATE else inner
                stack.extend([depth] * len(op.stack_after))
                deepest = max(deepest, depth)
                if deepest > NESTING_LIMIT:
                    break
    except (ValueError, IndexError):
        return None
    return deepest


def _torch_to_safetensors(path: str, out: str) -> None:
    """In the child: ``torch.load(weights_only=True)``, the state_dict's tensors checked and written to ``out``
    as a safetensors file (BF16 kept as such, so nothing is rounded)."""
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")  # torch's deprecation notes on what it loads are no message for the user
    where = Location(path)
    try:
        import torch
    except ImportError:
        raise _no_torch(where) from None
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file; none is a traceback for the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(Diagnostic(f"cannot read torch checkpoint: {printable(first[:300])}", where)) from None
    tensors = _state_dict(data, torch, where)
    kinds = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}
    header, offset = {}, 0
    for name, t in tensors.items():
        refused = _unsupported(t, torch, kinds)
        if refused:
            raise SpecError(Diagnostic(f"tensor {shown(name)!r} is {refused}; only dense real tensors on the CPU "
                                       "(torch.strided) are read", where))
        size = t.numel() * t.element_size()
        header[name] = {"dtype": kinds[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode("utf-8")
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for t in tensors.values():
            t = t.detach().contiguous()
            f.write(np.ascontiguousarray((t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()).data)


def _no_torch(where: Location) -> SpecError:
    return SpecError(Diagnostic("reading a torch.save checkpoint (.pth, .pt) needs PyTorch, which is not installed",
                                where, hint=f"{TORCH_EXTRA}, or convert the file to .safetensors (read without torch)"))


def _unsupported(t: Any, torch: Any, kinds: dict) -> str | None:
    """What makes a tensor unreadable as a Keras weight, or None."""
    if t.layout != torch.strided:
        return f"a sparse tensor ({t.layout})"
    if t.is_quantized:
        return f"a quantized tensor ({t.dtype})"
    if t.device.type != "cpu":
        return f"a tensor on device '{t.device.type}', holding no data"
    if t.is_complex():
        return f"a complex tensor ({t.dtype}); its imaginary part has no place in a Keras weight"
    if t.dtype not in kinds:
        return f"of dtype {t.dtype}"
    return None


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
    tensors: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, torch.Tensor):
            name = check_name(str(key), where, "tensor name")
            if name in tensors:
                raise SpecError(Diagnostic(f"tensor name {shown(name)!r} is given twice", where))
            tensors[name] = value
    if not tensors:
        raise SpecError(Diagnostic("the checkpoint holds no tensors (not a state_dict?)", where))
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors

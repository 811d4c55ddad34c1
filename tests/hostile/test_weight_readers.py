"""Weight files made to crash or exhaust the readers, generated here: each is refused with a located error
(``FILE: error: ...``, exit 1) within bounded memory, and ``check-weights`` says what ``build`` would.

The memory bound is the child's own peak (``util.archspec``) over that of checking a small good file."""

from __future__ import annotations

import json
import os
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from tests.hostile.util import TINY, archspec  # noqa: E402
from tests.support.files import write  # noqa: E402

SPEC = TINY.replace("kernel_size: 3}", "kernel_size: 3, name: conv, checkpoint: conv}").replace(
    "name: tiny", "name: tiny\ncheckpoint: torchvision")
HEADROOM_MB = 500  # over the good file's peak; every attack below took 1.4 GB or more before the readers were bounded


def legacy_h5(path: Path, kernel: dict | None = None, **attrs) -> Path:
    """SPEC's weights in the legacy layout; ``kernel`` passes dataset options (compression) for the kernel; a
    ``layer_names`` larger than 64 kB needs the newer file format (attributes outside the object header)."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w", libver="latest" if attrs else "earliest") as f:
        f.attrs["layer_names"] = attrs.get("layer_names", [b"conv"])
        g = f.create_group("conv")
        g.attrs["weight_names"] = [b"conv/kernel:0", b"conv/bias:0"]
        g.create_dataset("conv/kernel:0", data=rng.standard_normal((3, 3, 3, 8)).astype("f4"), **(kernel or {}))
        g.create_dataset("conv/bias:0", data=np.zeros(8, "f4"))
    return path


def keras3_h5(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        v = f.create_group("layers").create_group("conv2d").create_group("vars")
        v.attrs["name"] = "conv"  # a variable-length string, as Keras writes it
        v.create_dataset("0", data=np.zeros((3, 3, 3, 8), "f4"))
        v.create_dataset("1", data=np.zeros(8, "f4"))
        f.create_group("vars").attrs["name"] = "tiny"
    return path


def safetensors(path: Path, header: bytes, data: bytes = b"") -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def torch_zip(path: Path, pickle: bytes = b"", inflate_to: int = 0) -> Path:
    """A torch.save archive as torch writes it (stored entries) with ``pickle`` as data.pkl; with ``inflate_to``,
    a deflated data.pkl that holds a tiny pickle and that many zero bytes after it."""
    method = zipfile.ZIP_DEFLATED if inflate_to else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method, compresslevel=1 if inflate_to else None) as out:
        with out.open("archive/data.pkl", "w") as entry:
            entry.write(b"\x80\x02}q\x00." if inflate_to else pickle)
            chunk = bytes(2**24)
            for _ in range(inflate_to // len(chunk)):
                entry.write(chunk)
        out.writestr("archive/version", b"3\n")
        out.writestr("archive/byteorder", b"little")
    return path


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("readers") / "tiny.yaml", SPEC)


@pytest.fixture(scope="module")
def baseline_mb(spec) -> float:
    """Peak memory of checking a good legacy file (h5py imported)."""
    run = archspec("check-weights", spec, legacy_h5(spec.parent / "good.h5"))
    assert run.rc == 0, run.err
    return run.max_rss_mb


def refused(run, path: Path, message: str) -> None:
    assert run.rc == 1, (run.rc, run.err[-2000:])
    assert run.err.startswith(f"{path}: error: ") and message in run.err, run.err[-2000:]
    assert "internal error" not in run.err and "Traceback" not in run.err


# ------------------------------------------------------------------------------------------- torch.save
def test_a_pickle_nested_a_million_deep_is_refused_before_it_is_loaded(spec, tmp_path):
    # a dict key of 10**6 nested tuples: hashing it overflowed the C stack (SIGSEGV) in check-weights/convert/build
    path = torch_zip(tmp_path / "deep.pth", b"\x80\x02}N" + b"\x85" * 10**6 + b"K\x01s.")
    for command in (("check-weights", spec, path), ("convert", spec, path, "-o", tmp_path / "out.weights.h5")):
        refused(archspec(*command), path, "data.pkl nests objects more than 100 deep")
    assert not (tmp_path / "out.weights.h5").exists()


def test_a_deflated_pickle_is_not_inflated(spec, tmp_path, baseline_mb):
    # 400 MB of data.pkl in a 2 MB file: torch inflated it in memory (a 7 MB file took 3.7 GB)
    path = torch_zip(tmp_path / "bomb.pth", inflate_to=400 * 2**20)
    assert path.stat().st_size < 8 * 2**20
    run = archspec("check-weights", spec, path)
    assert run.max_rss_mb < baseline_mb + HEADROOM_MB, run.max_rss_mb
    refused(run, path, "is compressed")


def test_a_zip_directory_of_a_million_entries_is_not_parsed(spec, tmp_path, baseline_mb):
    # a 47 MB central directory of 1-letter names: zipfile built an object per entry while sniffing the file
    record = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + b"a"
    directory = record * 10**6
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), 30, 0)
    path = tmp_path / "many.pth"
    path.write_bytes(b"PK\x03\x04" + bytes(26) + directory + end)
    run = archspec("check-weights", spec, path)
    assert run.cpu_seconds < 10 and run.max_rss_mb < baseline_mb + HEADROOM_MB, (run.cpu_seconds, run.max_rss_mb)
    refused(run, path, f"the archive's directory is {len(directory)} bytes, more than the 16777216 read")


# ------------------------------------------------------------------------------------------- safetensors
def test_a_header_of_empty_arrays_is_refused_before_it_is_parsed(spec, tmp_path, baseline_mb):
    path = safetensors(tmp_path / "arrays.safetensors", b'{"a": [' + b"[]," * (20 * 10**6) + b"[]]}")
    run = archspec("check-weights", spec, path)
    assert run.max_rss_mb < baseline_mb + HEADROOM_MB, run.max_rss_mb
    refused(run, path, "JSON values, more than the 2000000 read")


def test_a_header_nested_deep_is_a_located_error(cli, spec, tmp_path):
    path = safetensors(tmp_path / "deep.safetensors", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    code, out, err = cli("check-weights", spec, path)
    assert code == 1 and err.startswith(f"{path}: error: malformed safetensors file: header nests deeper"), err


def test_a_tensor_named_twice_is_refused(cli, spec, tmp_path):
    entry = '{"dtype": "F32", "shape": [8], "data_offsets": [%d, %d]}'
    header = ('{"conv.bias": %s, "conv.bias": %s}' % (entry % (0, 32), entry % (32, 64))).encode()
    path = safetensors(tmp_path / "twice.safetensors", header, bytes(64))
    code, out, err = cli("check-weights", spec, path)
    assert code == 1 and "name 'conv.bias' is given twice in the header" in err, out + err


def test_a_five_megabyte_name_is_not_echoed(cli, spec, tmp_path):
    name = "x" * 5_000_000
    header = json.dumps({name: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    path = safetensors(tmp_path / "long.safetensors", header, bytes(4))
    code, out, err = cli("check-weights", spec, path)
    assert code == 1 and "is longer than 1024 characters" in err, err[:500]
    assert len(out) + len(err) < 1000


# ------------------------------------------------------------------------------------------- HDF5
def test_a_huge_layer_names_attribute_is_refused_before_it_is_read(spec, tmp_path, baseline_mb):
    path = legacy_h5(tmp_path / "names.h5", layer_names=np.full(20_000_000, b"ab", dtype="S2"))  # 40 MB
    run = archspec("check-weights", spec, path)
    assert run.max_rss_mb < baseline_mb + HEADROOM_MB, run.max_rss_mb
    refused(run, path, "attribute 'layer_names' holds 20000000 strings")


@pytest.mark.parametrize("value", [0, 2, 15])
def test_a_changed_byte_in_a_string_attribute_type_is_a_located_error(spec, tmp_path, value):
    # the class bits of the variable-length string type of vars.attrs['name'] in a Keras 3 file: libhdf5 crashed
    raw = bytearray(keras3_h5(tmp_path / "good.weights.h5").read_bytes())
    at = raw.find(b"\x19\x01\x01\x00")  # datatype message: version 1, class 9 (variable-length), string, UTF-8
    assert at > 0
    raw[at + 1] = value
    path = tmp_path / "bad.weights.h5"
    path.write_bytes(bytes(raw))
    run = archspec("check-weights", spec, path)
    if value == 0:  # a sequence of characters: read as such, and refused as not text
        assert run.rc == 1 and "does not hold text" in run.err, run.err
    else:
        refused(run, path, "")


def corrupt_chunk(path: Path) -> Path:
    with h5py.File(path, "r") as f:
        info = f["conv/conv/kernel:0"].id.get_chunk_info(0)
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset + 8: info.byte_offset + info.size] = b"\xff" * (info.size - 8)
    path.write_bytes(bytes(raw))
    return path


def unknown_filter(path: Path) -> Path:
    raw = path.read_bytes()
    at = raw.find(b"\x01\x00\x08\x00\x01\x00\x01\x00deflate\x00")  # filter pipeline: id 1, name "deflate"
    assert at > 0
    path.write_bytes(raw[:at] + struct.pack("<H", 32004) + raw[at + 2:])
    return path


@pytest.mark.parametrize("case, message", [
    (corrupt_chunk, "the data of weight 'kernel:0' cannot be read"),
    (unknown_filter, "is stored through HDF5 filter 32004"),
])
def test_weights_that_cannot_be_read_fail_check_weights(cli, spec, tmp_path, case, message):
    path = case(legacy_h5(tmp_path / "w.h5", {"compression": "gzip", "chunks": (3, 3, 3, 8)}))
    code, out, err = cli("check-weights", spec, path)
    assert code == 1 and err.startswith(f"{path}: error: ") and message in err, out + err
    assert "OK" not in out


# ------------------------------------------------------------------------------------------- FIFOs
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_fifos_are_refused_for_every_weight_and_checkpoint_path(spec, tmp_path):
    for name in ("w.h5", "w.pth", "w.safetensors"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        refused(archspec("check-weights", spec, fifo, timeout=30), fifo, "is not a regular file (a FIFO)")
    fifo = tmp_path / "w.pth"
    refused(archspec("convert", spec, fifo, "-o", tmp_path / "o.weights.h5", timeout=30), fifo, "(a FIFO)")
    refused(archspec("build", spec, "--weights", tmp_path / "w.h5", timeout=60), tmp_path / "w.h5", "(a FIFO)")
    device = Path("/dev/zero")
    refused(archspec("check-weights", spec, device, timeout=30), device, "a character device")


# ------------------------------------------------------------------------------------------- tensor kinds
@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    """.pth files of one tensor each that is not a dense real CPU tensor (torch imported here, so the
    reader's forked child starts with it)."""
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("kinds")
    tensors = {
        "complex": (torch.ones(8, dtype=torch.complex64), "a complex tensor (torch.complex64)"),
        "sparse": (torch.ones(8).to_sparse(), "a sparse tensor (torch.sparse_coo)"),
        "quantized": (torch.quantize_per_tensor(torch.ones(8), 0.1, 0, torch.qint8), "a quantized tensor"),
        "meta": (torch.ones(8, device="meta"), "a tensor on device 'meta'"),
    }
    out = {}
    for kind, (tensor, message) in tensors.items():
        path = folder / f"{kind}.pth"
        torch.save({"conv.weight": torch.zeros(8, 3, 3, 3), "conv.bias": tensor}, path)
        out[kind] = (path, message)
    return out


@pytest.mark.parametrize("kind", ["complex", "sparse", "quantized", "meta"])
def test_tensors_other_than_dense_real_cpu_ones_are_refused(cli, spec, tmp_path, kinds, kind):
    path, message = kinds[kind]
    for command in (("check-weights", spec, path), ("convert", spec, path, "-o", tmp_path / "o.weights.h5")):
        code, out, err = cli(*command)
        assert code == 1 and err.startswith(f"{path}: error: tensor 'conv.bias' is {message}"), out + err

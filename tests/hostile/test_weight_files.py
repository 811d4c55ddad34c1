"""HDF5 weight files that are not plain Keras weights: links (soft, external, looping), non-numeric and
externally stored datasets are refused with the object's path, by ``check-weights`` and ``build
--weights`` alike (both read through archspec/weights/h5file.py), so check-weights never says OK for a
file a build would reject."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from archspec.errors import SpecError  # noqa: E402
from archspec.weights.h5file import read_weight_file  # noqa: E402
from tests.hostile.util import TINY  # noqa: E402
from tests.support.files import write  # noqa: E402

SPEC = TINY.replace("kernel_size: 3}", "kernel_size: 3, name: conv}")
SHAPES = {"kernel": (3, 3, 3, 8), "bias": (8,)}


def weights(path: Path, tamper=None) -> Path:
    """The legacy layout of SPEC's model; ``tamper(layer_group)`` replaces the kernel with something odd."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"conv"]
        g = f.create_group("conv")
        g.attrs["weight_names"] = [b"conv/kernel:0", b"conv/bias:0"]
        g.create_dataset("conv/bias:0", data=np.zeros(SHAPES["bias"], "float32"))
        if tamper is None:
            g.create_dataset("conv/kernel:0", data=np.zeros(SHAPES["kernel"], "float32"))
        else:
            tamper(f, g)
    return path


def _external(f, g):
    g["conv/kernel:0"] = h5py.ExternalLink("/etc/passwd", "/")


def _soft(f, g):
    f.create_dataset("elsewhere", data=np.zeros(SHAPES["kernel"], "float32"))
    g["conv/kernel:0"] = h5py.SoftLink("/elsewhere")


def _soft_loop(f, g):
    g["conv/kernel:0"] = h5py.SoftLink("/conv/conv/loop")
    g["conv/loop"] = h5py.SoftLink("/conv/conv/kernel:0")


def _soft_folder(f, g):  # the link is a folder on the way, not the dataset itself
    f.create_group("real").create_dataset("kernel:0", data=np.zeros(SHAPES["kernel"], "float32"))
    del g["conv"]
    g["conv"] = h5py.SoftLink("/real")
    g.create_dataset("conv_bias", data=np.zeros(8, "float32"))
    g.attrs["weight_names"] = [b"conv/kernel:0", b"conv_bias"]


def _strings(f, g):
    g.create_dataset("conv/kernel:0", data=np.full(SHAPES["kernel"], b"x", dtype="S1"))


def _vlen_strings(f, g):
    g.create_dataset("conv/kernel:0", shape=SHAPES["kernel"], dtype=h5py.string_dtype())


def _compound(f, g):
    g.create_dataset("conv/kernel:0", shape=SHAPES["kernel"], dtype=np.dtype([("a", "f4"), ("b", "i4")]))


def _group(f, g):
    g.create_group("conv/kernel:0")


def _external_storage(f, g, tmp=[]):
    raw = Path(f.filename).with_suffix(".raw")
    raw.write_bytes(b"\0" * 4 * 216)
    g.create_dataset("conv/kernel:0", shape=SHAPES["kernel"], dtype="f4", external=[(str(raw), 0, 4 * 216)])


def _layer_group_external(f, g):
    del f["conv"]
    f["conv"] = h5py.ExternalLink("/etc/passwd", "/")


CASES = {
    "external link": (_external, "is an external link (to '/etc/passwd')"),
    "soft link": (_soft, "is a soft link (to '/elsewhere')"),
    "soft link loop": (_soft_loop, "is a soft link (to '/conv/conv/loop')"),
    "soft link on the way": (_soft_folder, "is a soft link (to '/real')"),
    "fixed strings": (_strings, "holds |S1 values, not numbers"),
    "variable strings": (_vlen_strings, "holds object values, not numbers"),
    "compound": (_compound, "not numbers"),
    "group": (_group, "is not a dataset"),
    "external storage": (_external_storage, "keeps its data in other files"),
    "layer is an external link": (_layer_group_external, "'conv' is an external link"),
}


def test_a_plain_file_reads(tmp_path):
    wfile = read_weight_file(weights(tmp_path / "w.h5"))
    assert wfile.layers[0].weights == (("conv/kernel:0", SHAPES["kernel"]), ("conv/bias:0", SHAPES["bias"]))


@pytest.mark.parametrize("case", CASES)
def test_reader_refuses_with_the_object_path(tmp_path, case):
    tamper, message = CASES[case]
    path = weights(tmp_path / "w.h5", tamper)
    with pytest.raises(SpecError) as info:
        read_weight_file(path)
    diag = info.value.diagnostics[0]
    assert message in diag.message, diag.format()
    assert diag.location.file == str(path)
    assert diag.pointer and diag.pointer.startswith("/conv"), diag.pointer


@pytest.mark.parametrize("case", ["external link", "soft link loop", "fixed strings"])
def test_check_weights_fails_where_build_would(cli, tmp_path, case):
    spec = write(tmp_path / "net.yaml", SPEC)
    code, out, err = cli("check-weights", spec, weights(tmp_path / "good.h5"))
    assert code == 0 and "OK" in out, err
    tamper, message = CASES[case]
    path = weights(tmp_path / "w.h5", tamper)
    code, out, err = cli("check-weights", spec, path)
    assert code == 1, err
    assert err.startswith(f"{path}: error: ") and message in err, err
    assert "OK" not in out and "internal error" not in err


def test_names_with_control_characters_are_refused(tmp_path):
    path = weights(tmp_path / "w.h5")
    with h5py.File(path, "a") as f:
        f.attrs["layer_names"] = [b"conv", b"x\nother.yaml:1:1: error: forged"]
    with pytest.raises(SpecError, match="contains a control character") as info:
        read_weight_file(path)
    assert "\n" not in info.value.diagnostics[0].format()


@pytest.mark.parametrize("name", ["w.bin", "w.weights.h5", "w"])
def test_the_layout_is_told_by_content_not_by_name(tmp_path, name):
    # build and check-weights both read files with h5py (Keras's suffix-picked readers are not used), so a
    # legacy file under another name reads as what it is; a zip (.keras) or non-HDF5 file is refused
    path = tmp_path / name
    weights(tmp_path / "w.h5").rename(path)
    assert read_weight_file(path).layout == "weights"
    path.write_bytes(b"PK\x03\x04 not a weight file")
    with pytest.raises(SpecError, match="zip archive"):
        read_weight_file(path)

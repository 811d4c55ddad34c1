"""``archspec build --weights``: a file that does not fit is named precisely, never a Keras traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from archspec.api import layer_graph  # noqa: E402
from archspec.weights.h5file import read_weight_file  # noqa: E402
from archspec.weights.match import weighted_nodes  # noqa: E402
from tests.lang.corpus import VALID  # noqa: E402

SPEC = VALID / "tiny_resnet.yaml"
LIB = SPEC.parent / "lib" / "blocks.yaml"
Layers = list[tuple[str, list[tuple[str, tuple]]]]


def manifest() -> Layers:
    """The published legacy layout the spec's model expects: weighted layers in Keras order."""
    graph = layer_graph(SPEC)
    return [(graph.layers[n].name, [(w.name, w.shape) for w in graph.layers[n].weights])
            for n in weighted_nodes(graph)]


def write_h5(path: Path, layers: Layers, seed: int = 0, chunk: int | None = None) -> Path:
    """A legacy Keras HDF5 weights file; ``chunk`` splits ``layer_names`` like Keras does for big models."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        names = [name.encode() for name, _ in layers]
        if chunk:
            for i in range(0, len(names), chunk):
                f.attrs[f"layer_names{i // chunk}"] = names[i:i + chunk]
        else:
            f.attrs["layer_names"] = names
        f.attrs["backend"] = b"tensorflow"
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w, _ in weights], dtype="S")
            for w, shape in weights:
                g.create_dataset(f"{name}/{w}:0", data=rng.normal(size=shape).astype("float32"))
    return path


def build(cli, *args: str) -> tuple[int, str, str]:
    return cli("build", SPEC, *args)


def lib_line(fragment: str) -> int:
    return next(i for i, line in enumerate(LIB.read_text().splitlines(), 1) if fragment in line)


def test_matching_file_loads_by_order_and_by_name(cli, tmp_path) -> None:
    layers = manifest()
    path = write_h5(tmp_path / "good.h5", layers, chunk=5)
    assert [layer.name for layer in read_weight_file(path).weighted] == [name for name, _ in layers]
    code, out, err = build(cli, "--weights", path)
    assert code == 0, err
    code, out, err = build(cli, "--weights", path, "--by-name")
    assert code == 0, err

    from archspec.api import build as api_build

    model = api_build(SPEC, weights=path)
    with h5py.File(path) as f:
        stored = np.asarray(f["res2_block1_a_conv"]["res2_block1_a_conv/kernel:0"])
    np.testing.assert_array_equal(model.get_layer("res2_block1_a_conv").get_weights()[0], stored)


def test_shape_mismatch_names_layer_shapes_and_spec_line(cli, tmp_path) -> None:
    layers = manifest()
    k = next(i for i, (name, _) in enumerate(layers) if name == "res2_block1_a_conv")
    name, weights = layers[k]
    layers[k] = (name, [("kernel", (3, 3, 8, 17))])
    code, out, err = build(cli, "--weights", write_h5(tmp_path / "bad.h5", layers))
    assert code == 1
    line = lib_line("{op: conv2d, filters: filters")
    shown = LIB.relative_to(Path.cwd()) if LIB.is_relative_to(Path.cwd()) else LIB  # paths below the cwd are relative
    assert err.splitlines()[0] == (
        f"{shown}:{line}:9: error: layer 'res2_block1_a_conv' expects weights [(3, 3, 8, 16)] but file layer "
        f"'res2_block1_a_conv' has [(3, 3, 8, 17)] (made in block 'res2_block1' of stage 'res2'; "
        f"weight file {tmp_path / 'bad.h5'})")
    assert "Traceback" not in err


def test_layer_count_mismatch(cli, tmp_path) -> None:
    code, out, err = build(cli, "--weights", write_h5(tmp_path / "short.h5", manifest()[:-1]))
    assert code == 1
    n = len(manifest())
    assert f"the file has {n - 1} layers with weights, the model has {n}" in err and "try --by-name" in err


def test_by_name_reports_unmatched_layers_unless_partial(cli, tmp_path) -> None:
    layers = manifest()
    layers[0] = ("conv1_conv", layers[0][1])  # a file from another naming scheme
    path = write_h5(tmp_path / "renamed.h5", layers)
    code, out, err = build(cli, "--weights", path, "--by-name")
    assert code == 1
    assert "1 model layer(s) with weights not in the file: stem_conv" in err
    assert "1 file layer(s) match no model layer: conv1_conv" in err
    code, out, err = build(cli, "--weights", path, "--by-name", "--allow-partial")
    assert code == 0, err


@pytest.mark.parametrize("name, content, message", [
    ("garbage.h5", b"\x89HDF\r\n\x1a\n this is not really HDF5" * 10, "cannot read HDF5 weight file"),
    ("empty.h5", b"", "cannot read HDF5 weight file"),
    ("missing.h5", None, "weight file not found"),
    ("weights.bin", b"", "not an HDF5 file"),  # the layout is told by content, not by the name
])
def test_unreadable_weight_files(cli, tmp_path, name, content, message) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = build(cli, "--weights", path)
    assert code == 1 and message in err and "Traceback" not in err
    assert err.startswith(str(path))


def test_hdf5_without_keras_layout(cli, tmp_path) -> None:
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    code, out, err = build(cli, "--weights", path)
    assert code == 1 and "not a Keras HDF5 weights file" in err

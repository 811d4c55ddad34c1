"""``check-weights`` (h5py only) reaches the verdict Keras's own ``load_weights`` reaches.

Files come from a reference keras.applications.ResNet50 (legacy weights layout via
``write_legacy_h5``, and a full-model ``model.save("x.h5")``), then get broken the ways real files
are: truncated, a wrong shape, a missing weight, layers out of order.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import h5py
import keras
import numpy as np
import pytest

from archspec.api import build, layer_graph
from archspec.export.weight_check import format_text
from archspec.weights.match import check_weights
from tests.support.paths import ROOT
from tests.support.reference import write_legacy_h5

INPUT = (64, 64, 3)


def _names(f: h5py.File) -> list[bytes]:
    return [bytes(n) for n in f.attrs["layer_names"]]


def _truncate(f: h5py.File) -> None:
    names = _names(f)
    f.attrs["layer_names"] = np.array(names[:names.index(b"predictions")])


def _wrong_shape(f: h5py.File) -> None:
    group = f["conv2_block1_2_conv"]
    key = bytes(group.attrs["weight_names"][0]).decode()
    del group[key]
    group.create_dataset(key, data=np.zeros((3, 3, 64, 32), "float32"))


def _missing_bias(f: h5py.File) -> None:
    group = f["conv1_conv"]
    group.attrs["weight_names"] = np.array([bytes(n) for n in group.attrs["weight_names"]][:1])


def _swap(f: h5py.File) -> None:
    names = _names(f)
    i, j = names.index(b"conv1_conv"), names.index(b"predictions")
    names[i], names[j] = names[j], names[i]
    f.attrs["layer_names"] = np.array(names)


VARIANTS: dict[str, Callable[[h5py.File], None] | None] = {
    "good": None, "truncated": _truncate, "wrong_shape": _wrong_shape, "missing_bias": _missing_bias,
    "swapped": _swap,
}


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keras.backend.clear_session()
    ref = keras.applications.ResNet50(weights=None, input_shape=INPUT)
    path = tmp_path_factory.mktemp("ref") / "resnet50.h5"
    write_legacy_h5(ref, path)
    return path


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return build("resnet50", input_shape=INPUT)


def _variant(reference_file: Path, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.h5"
    shutil.copy(reference_file, path)
    if VARIANTS[name] is not None:
        with h5py.File(path, "r+") as f:
            VARIANTS[name](f)
    return path


def _keras_accepts(model: keras.Model, path: Path, by_name: bool) -> bool:
    try:
        model.load_weights(str(path), by_name=by_name)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_by_order_verdict_matches_keras(name: str, reference_file: Path, model: keras.Model, tmp_path: Path) -> None:
    path = _variant(reference_file, tmp_path, name)
    ours = check_weights(layer_graph("resnet50"), path, mode="order").loads == "order"
    assert ours == _keras_accepts(model, path, by_name=False)
    assert ours == (name == "good")


@pytest.mark.parametrize("name", ["good", "wrong_shape", "missing_bias", "swapped"])
def test_by_name_verdict_matches_keras(name: str, reference_file: Path, model: keras.Model, tmp_path: Path) -> None:
    """(Keras by name silently skips layers missing from the file; check-weights calls that incomplete.)"""
    path = _variant(reference_file, tmp_path, name)
    ours = check_weights(layer_graph("resnet50"), path, mode="name").loads == "name"
    assert ours == _keras_accepts(model, path, by_name=True)
    assert ours == (name in ("good", "swapped"))


def test_auto_mode_reports_the_mode_and_the_spec_line(reference_file: Path, tmp_path: Path) -> None:
    graph = layer_graph("resnet50")
    swapped = check_weights(graph, _variant(reference_file, tmp_path, "swapped"))
    assert swapped.loads == "name" and [r.mode for r in swapped.reports] == ["order", "name"]
    assert "OK: the file loads fully by name" in format_text(swapped, graph)
    bad = check_weights(graph, _variant(reference_file, tmp_path, "wrong_shape"))
    assert bad.loads is None
    text = format_text(bad, graph)
    assert "layer 'conv2_block1_2_conv' expects [(3, 3, 64, 64), (64,)], file layer 'conv2_block1_2_conv' has " \
           "[(3, 3, 64, 32), (64,)]" in text
    line = next(k for k, t in enumerate((ROOT / "specs/lib/resnet.yaml").read_text()
                                         .splitlines(), 1) if '"{block}_2_conv"' in t)
    assert f"resnet.yaml:{line}:" in text and text.rstrip().endswith("FAIL: the file does not load fully")


def test_full_model_h5_file(tmp_path: Path, model: keras.Model) -> None:
    path = tmp_path / "full.h5"
    model.save(str(path))
    result = check_weights(layer_graph("resnet50"), path)
    assert result.wfile.layout == "model" and result.loads == "order"
    assert _keras_accepts(model, path, by_name=False)
    assert "full-model file (model_weights)" in format_text(result, layer_graph("resnet50"))


def test_the_readme_example(reference_file: Path, tmp_path: Path, monkeypatch, cli) -> None:
    """The README's check-weights output is what the command prints for a file with one wrong shape."""
    from tests.test_doc_examples import _matches, doc_block

    command, *expected = doc_block("README.md", "$ archspec check-weights").splitlines()
    shutil.copy(_variant(reference_file, tmp_path, "wrong_shape"), tmp_path / "resnet50_bad.h5")
    monkeypatch.chdir(ROOT)  # in a clone, so the library is specs/lib/resnet.yaml
    argv = [str(tmp_path / a) if a.endswith(".h5") else a for a in command.split()[2:]]
    code, out, err = cli(*argv)
    assert code == 1
    text = (out + err).replace(f"{tmp_path}/", "")
    assert _matches(expected, text.splitlines()), text

"""Keras 3 ``.weights.h5`` files (what ``model.save_weights`` writes) for models with nested layers.

Why: keras.applications' ConvNeXt nests its stem and downsampling blocks as ``keras.Sequential`` models. In a
Keras 3 file such a layer is a group ``layers/sequential_<n>`` holding its own ``layers/<class>_<k>/vars``
(``keras/src/saving/saving_lib.py``), not one list of weights as in a legacy ``.h5``; archspec must pair
those with a spec's ``sequential:`` steps in ``build(weights=...)``, ``build --weights`` and ``check-weights``
(h5py only). Every file here is written by Keras itself from a seeded reference model.

Cost: one ConvNeXtTiny at 32x32 (the smallest input keras accepts), no top, written once; archspec builds
it twice (by order, by name). A tiny model with two convolutions and a batch norm in one Sequential shows
the per-class numbering inside a nested layer and the trainable-first order of its weights.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

import archspec
from tests.support.paths import ROOT
from tests.support.reference import assert_same_outputs, max_rel_error, randomize_weights

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
TINY = (32, 32, 3)
OPTIONS = {"include_top": False, "input_shape": TINY}
CLI = ("--no-top", "--input-shape", "32,32,3")


@pytest.fixture(scope="module")
def convnext(tmp_path_factory):
    """keras.applications.ConvNeXtTiny (no top, 32x32) with seeded weights, saved by ``save_weights``."""
    keras.backend.clear_session()
    ref = keras.applications.ConvNeXtTiny(weights=None, **OPTIONS)
    randomize_weights(ref, seed=0)
    path = tmp_path_factory.mktemp("convnext") / "convnext_tiny.weights.h5"
    ref.save_weights(path)
    return ref, path


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_convnext_loads_its_keras3_file_and_computes_the_reference(convnext, by_name):
    ref, path = convnext
    model = archspec.build("convnext_tiny", weights=path, by_name=by_name, **OPTIONS)
    assert [layer.name for layer in model.layers] == [layer.name for layer in ref.layers]
    nested = [layer.name for layer in model.layers if isinstance(layer, keras.Sequential)]
    assert len(nested) == 4  # the stem and three downsampling blocks
    for name in nested:  # each variable of the nested layers, not only the outputs
        for ours, theirs in zip(model.get_layer(name).weights, ref.get_layer(name).weights, strict=True):
            assert np.array_equal(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)), name
    x = np.random.default_rng(1).uniform(0, 255, (2, *TINY)).astype("float32")  # pixels, as ConvNeXt takes
    want = keras.ops.convert_to_numpy(ref(x, training=False))
    assert max_rel_error(want[0], want[1]) > 1e-2  # the features tell the two images apart
    error = max_rel_error(keras.ops.convert_to_numpy(model(x, training=False)), want)
    assert error < 1e-4, error
    print(f"max relative error {error:.3g}")


def _check_weights(*argv: str) -> subprocess.CompletedProcess:
    """``archspec check-weights`` in a fresh process, which must not import TensorFlow or Keras."""
    code = ("import sys; from archspec.cli import main; rc = main(sys.argv[1:]); "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
            "assert not heavy, heavy; sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, "check-weights", *argv], capture_output=True, text=True,
                          env=ENV, cwd=ROOT, timeout=120)


def test_check_weights_reads_the_nested_layers_without_tensorflow_and_build_loads_them(convnext, cli):
    ref, path = convnext
    proc = _check_weights("convnext_tiny", *CLI, str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    weighted = sum(1 for layer in ref.layers if layer.weights)
    assert f"by order: {weighted} matched, 0 missing, 0 extra, 0 shape mismatch(es)" in proc.stdout
    assert "OK: the file loads fully by order" in proc.stdout
    code, out, _ = cli("build", "convnext_tiny", *CLI, "--weights", path)
    assert code == 0
    assert f"{len(ref.layers)} layers, {weighted} with weights, {ref.count_params():,} params" in out


def _spec_line(needle: str) -> int:
    """The line of specs/lib/convnext.yaml that names a layer (where its errors must point)."""
    lines = (ROOT / "specs/lib/convnext.yaml").read_text(encoding="utf-8").splitlines()
    (line,) = [i for i, text in enumerate(lines, 1) if needle in text]
    return line


def _vars_named(f: h5py.File, name: str) -> h5py.Group:
    """The ``vars`` group Keras wrote for the layer called ``name``, wherever it is nested."""
    found = []
    f.visititems(lambda path, obj: found.append(obj) if isinstance(obj, h5py.Group)
                 and path.endswith("/vars") and obj.attrs.get("name") == name else None)
    (group,) = found
    return group


def test_a_wrong_shaped_nested_weight_is_a_located_error(convnext, tmp_path, cli):
    _, path = convnext
    bad = tmp_path / "bad.weights.h5"
    shutil.copy(path, bad)
    with h5py.File(bad, "r+") as f:
        group = _vars_named(f, "convnext_tiny_downsampling_conv_0")
        assert "/sequential_1/layers/" in group.name  # inside a nested model, as Keras nests it
        del group["0"]
        group.create_dataset("0", data=np.zeros((2, 2, 96, 100), "float32"))
    where = rf"convnext\.yaml:{_spec_line('{model}_downsampling_conv_{index}')}:\d+: error: "
    with pytest.raises(ValueError, match=where + r"layer 'convnext_tiny_downsampling_conv_0' expects weights "
                                         r"\[\(2, 2, 96, 192\), \(192,\)\] but file layer "
                                         r"'convnext_tiny_downsampling_block_0/convnext_tiny_downsampling_conv_0' "
                                         r"has \[\(2, 2, 96, 100\), \(192,\)\]"):
        archspec.build("convnext_tiny", weights=bad, **OPTIONS)
    code, _, err = cli("build", "convnext_tiny", *CLI, "--weights", bad)
    assert code == 1
    assert re.search(where + "layer 'convnext_tiny_downsampling_conv_0' expects weights", err)
    proc = _check_weights("convnext_tiny", *CLI, str(bad))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(rf"convnext\.yaml:{_spec_line('{model}_downsampling_conv_{index}')}:\d+: shape mismatch: "
                     r"layer 'convnext_tiny_downsampling_conv_0'", proc.stdout), proc.stdout
    assert "FAIL: the file does not load fully" in proc.stdout


SMALL = """\
archspec: 1
name: small_nested
input: [8, 8, 3]
stages:
  s:
    body:
      - {op: conv2d, filters: 4, kernel_size: 1, name: a}
      - sequential:
          - {op: conv2d, filters: 5, kernel_size: 3, padding: same, name: s_conv}
          - {op: batch_norm, name: s_bn}
          - {op: conv2d, filters: 6, kernel_size: 1, name: s_proj}
        name: s
      - {op: conv2d, filters: 2, kernel_size: 1, name: b}
"""


def test_layers_inside_a_nested_layer_are_numbered_per_class_and_stored_trainable_first(tmp_path, cli):
    """Two convolutions and a batch norm in one Sequential: Keras writes them as ``conv2d``, ``conv2d_1`` and
    ``batch_normalization`` under the Sequential's group; loading must put each (and the batch norm's moving
    statistics, the Sequential's non-trainable weights) in its place."""
    keras.backend.clear_session()
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 1, name="a")(x)
    y = keras.Sequential([keras.layers.Conv2D(5, 3, padding="same", name="s_conv"),
                          keras.layers.BatchNormalization(name="s_bn"),
                          keras.layers.Conv2D(6, 1, name="s_proj")], name="s")(y)
    ref = keras.Model(x, keras.layers.Conv2D(2, 1, name="b")(y))
    randomize_weights(ref, seed=0)
    path = tmp_path / "small.weights.h5"
    ref.save_weights(path)
    with h5py.File(path, "r") as f:
        assert {k: f[f"layers/sequential/layers/{k}/vars"].attrs["name"] for k in f["layers/sequential/layers"]} \
            == {"conv2d": "s_conv", "batch_normalization": "s_bn", "conv2d_1": "s_proj"}
    spec = tmp_path / "small_nested.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    for by_name in (False, True):
        model = archspec.build(spec, weights=path, by_name=by_name)
        for ours, theirs in zip(model.get_layer("s").weights, ref.get_layer("s").weights, strict=True):
            assert np.array_equal(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs))
        assert_same_outputs(model, ref, seed=1, tol=1e-4)
    code, out, _ = cli("check-weights", spec, path)
    assert code == 0
    weighted = sum(1 for layer in ref.layers if layer.weights)
    assert f"by order: {weighted} matched, 0 missing, 0 extra" in out

"""`archspec export --format onnx|tflite|saved_model --verify`: each artefact is run by its own runtime here,
on an input of the test's own, and compared with the Keras model built from the same random weights."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import archspec
from tests.support.paths import ROOT
from tests.support.reference import randomize_weights, write_legacy_h5

TINY = str(ROOT / "tests" / "lang" / "valid" / "tiny_resnet.yaml")  # preprocessing: tf, 10 classes
ERROR = re.compile(r"verify: max relative error (\S+) against Keras")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> tuple[str, object]:
    """Seeded random weights (BatchNorm statistics too, so a misplaced tensor changes the output)."""
    model = archspec.build(TINY, classifier_activation=None)
    randomize_weights(model, seed=3)
    path = tmp_path_factory.mktemp("weights") / "tiny.h5"
    write_legacy_h5(model, path)
    return str(path), model


def export(cli, tmp_path, fmt: str, out: str, weights: str, *extra: str) -> tuple[int, str, str]:
    return cli("export", TINY, "--format", fmt, "-o", tmp_path / out, "--weights", weights,
               "--classifier-activation", "none", *extra)


def run_onnx(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0], session.get_modelmeta().custom_metadata_map


def run_tflite(path, x):
    import tensorflow as tf

    with pytest.warns(UserWarning, match="deprecated"):  # TF 2.21 still ships it; ai_edge_litert is its successor
        interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()  # batch 1, as the converter writes it
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x[:1])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def run_saved_model(path, x):
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return next(iter(serve(tf.constant(x)).values())).numpy()


def rel(a, b) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def probe(weights):
    _, model = weights
    x = np.random.default_rng(11).uniform(-2, 2, (3, 32, 32, 3)).astype("float32")
    expected = np.asarray(model(x, training=False))
    assert np.std(expected) > 0.1 and rel(expected[0], expected[1]) > 1e-2  # inputs give different outputs
    return x, expected


def test_onnx_verified_and_carrying_the_preprocessing_and_classes(tmp_path, weights, probe, cli):
    code, out, err = export(cli, tmp_path, "onnx", "m.onnx", weights[0], "--verify")
    assert code == 0, err
    assert "onnx: Keras export(format='onnx') through tf2onnx" in out and "wrote" in out
    assert "importing Keras" not in err and "exporting" not in err  # no progress display off a terminal
    assert float(ERROR.search(out).group(1)) < 1e-4 and out.rstrip().endswith(": ok")
    x, expected = probe
    got, meta = run_onnx(tmp_path / "m.onnx", x)
    assert rel(got, expected) < 1e-4
    assert meta["archspec.preprocessing"] == "tf" and meta["archspec.classes"] == "10"
    assert meta["archspec.spec"] == "tiny_resnet" and json.loads(meta["archspec.input_shape"]) == [32, 32, 3]


def test_tflite_verified_with_its_metadata(tmp_path, weights, probe, cli):
    code, out, err = export(cli, tmp_path, "tflite", "m.tflite", weights[0], "--verify")
    assert code == 0, err
    assert float(ERROR.search(out).group(1)) < 1e-4
    x, expected = probe
    assert rel(run_tflite(tmp_path / "m.tflite", x), expected[:1]) < 1e-4
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(tmp_path / "m.tflite"))
    (entry,) = [m for m in model.metadata if m.name == b"archspec"]
    meta = json.loads(bytes(model.buffers[entry.buffer].data))
    assert meta["archspec.preprocessing"] == "tf" and meta["archspec.classes"] == "10"


def test_saved_model_verified_replaces_only_a_saved_model(tmp_path, weights, probe, cli):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "notes.txt").write_text("mine")
    code, _, err = export(cli, tmp_path, "saved_model", "sm", weights[0])
    assert code == 2 and "not a SavedModel folder" in err and (tmp_path / "sm" / "notes.txt").read_text() == "mine"
    for extra in ((), ("--verify",)):  # the second run replaces the first's folder
        code, out, err = export(cli, tmp_path, "saved_model", "model", weights[0], *extra)
        assert code == 0, err
    assert float(ERROR.search(out).group(1)) < 1e-4
    x, expected = probe
    assert rel(run_saved_model(tmp_path / "model", x), expected) < 1e-4
    meta = json.loads((tmp_path / "model" / "assets.extra" / "archspec.json").read_text())
    assert meta["archspec.preprocessing"] == "tf" and meta["archspec.classes"] == "10"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "sm"]  # no temporary folder left


def test_verify_fails_above_the_tolerance(tmp_path, weights, cli):
    code, out, _ = export(cli, tmp_path, "onnx", "m.onnx", weights[0], "--verify", "--tolerance", "1e-12")
    assert code == 1 and out.rstrip().endswith(": FAIL") and float(ERROR.search(out).group(1)) > 1e-12


def test_a_missing_exporter_names_the_extra(tmp_path, monkeypatch, cli):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    code, _, err = cli("export", TINY, "--format", "onnx", "-o", tmp_path / "m.onnx", "--verify")
    assert code == 1 and "needs the onnxruntime package: pip install 'archspec-cnn[onnx]'" in err
    assert not (tmp_path / "m.onnx").exists()


def cli_process(*args: str, backend: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "archspec", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_onnx_on_the_pytorch_backend(tmp_path):
    model = archspec.build("resnet18", include_top=False, input_shape=(64, 64, 3))  # torchvision's topology
    randomize_weights(model, seed=5)
    write_legacy_h5(model, tmp_path / "r18.h5")
    x = np.random.default_rng(2).uniform(-2, 2, (2, 64, 64, 3)).astype("float32")
    expected = np.asarray(model(x, training=False))
    proc = cli_process("export", "resnet18", "--no-top", "--input-shape", "64,64,3", "--weights",
                       str(tmp_path / "r18.h5"), "--format", "onnx", "-o", str(tmp_path / "r18.onnx"), "--verify",
                       backend="torch")
    assert proc.returncode == 0, proc.stderr
    assert "through torch.onnx" in proc.stdout and float(ERROR.search(proc.stdout).group(1)) < 1e-4
    got, meta = run_onnx(tmp_path / "r18.onnx", x)
    assert rel(got, expected) < 1e-4  # the torch-built artefact against the TensorFlow-built model
    assert meta["archspec.preprocessing"] == "torch" and "archspec.classes" not in meta


def test_jax_is_refused_with_the_reason(tmp_path):
    proc = cli_process("export", TINY, "--format", "onnx", "-o", str(tmp_path / "m.onnx"), backend="jax")
    assert proc.returncode == 1 and "cannot export onnx on the jax Keras backend" in proc.stderr
    assert "jax2onnx" in proc.stderr and "--backend tensorflow" in proc.stderr and "Traceback" not in proc.stderr

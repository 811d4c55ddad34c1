"""`archspec build/list/schema` from the command line, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def archspec(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archspec", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=600)


def test_build_prints_summary_and_writes_keras_file(tmp_path):
    out = tmp_path / "r101.keras"
    proc = archspec("build", "resnet50", "--set", "stages.conv4.repeat=23", "--no-top", "--pooling", "avg",
                    "--input-shape", "64,64,3", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    # ResNet101 without its classifier: 44,707,176 - (2048 * 1000 + 1000)
    assert "208 with weights, 42,658,176 params, output (None, 2048)" in proc.stdout
    assert out.is_file()


def test_user_error_is_one_located_line_and_exit_1(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("archspec: 1\nname: bad\ninput: [32, 32, 3]\nstages:\n  s: {block: botleneck}\n")
    proc = archspec("build", str(spec))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{spec}:5:") and "unknown template 'botleneck'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_override_names_the_override():
    proc = archspec("build", "resnet50", "--set", "stages.conv9.repeat=2")
    assert proc.returncode == 1
    assert "--set stages.conv9.repeat=2" in proc.stderr and "did you mean 'conv" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_weight_file_is_a_clear_error(tmp_path):
    proc = archspec("build", "resnet50", "--weights", str(tmp_path / "nope.h5"))
    assert proc.returncode == 1 and "weight file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_list_and_schema():
    proc = archspec("list", "--format", "json")
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["resnet50"]["params"] == 25_636_712 and rows["resnet50"]["weighted_layers"] == 107
    assert rows["resnet50"]["input"] == [224, 224, 3]
    schema = json.loads(archspec("schema").stdout)
    assert schema["properties"]["archspec"]["const"] == 1


def test_unknown_bundled_name_suggests_the_closest():
    proc = archspec("build", "resnet5")
    assert proc.returncode == 1 and "did you mean 'resnet50'?" in proc.stderr


def test_unknown_limit_is_a_usage_error():
    proc = archspec("build", "resnet50", "--limit", "layerz=10")
    assert proc.returncode == 2 and "unknown limit 'layerz'" in proc.stderr and "Traceback" not in proc.stderr


def test_layer_limit_stops_expansion_with_a_located_error():
    proc = archspec("build", "resnet50", "--limit", "layers=50")
    assert proc.returncode == 1 and "more than 50 layers (limit 'layers')" in proc.stderr
    assert "resnet.yaml:" in proc.stderr


def test_bad_build_options_are_usage_errors():
    for args in (["--classes", "0"], ["--input-shape", "64,64"], ["--pooling", "mean"]):
        proc = archspec("summary", "resnet50", *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_build_reports_every_independent_error_at_once(tmp_path):
    spec = tmp_path / "two.yaml"
    spec.write_text("archspec: 1\nname: two\ninput: [32, 32, 3]\n"
                    "templates:\n  blk:\n    required: [filters]\n"
                    "    body: [{op: conv2d, filters: filters, kernel_size: 3}]\n"
                    "stages:\n  a: {block: blk, filtres: 3}\n  b: {block: blok, filters: 4}\n")
    proc = archspec("build", str(spec))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 2
    assert lines[0].startswith(f"{spec}:9:") and "unknown parameter 'filtres'" in lines[0]
    assert lines[1].startswith(f"{spec}:10:") and "unknown template 'blok'" in lines[1]


def test_classifier_activation_option_reaches_the_graph():
    proc = archspec("graph", "resnet50", "--classifier-activation", "none", "--format", "json")
    nodes = {n["name"]: n for n in json.loads(proc.stdout)["nodes"]}
    assert nodes["predictions"]["attrs"]["activation"] is None
    proc = archspec("graph", "resnet50", "--classifier-activation", "sigmoid", "--format", "json")
    assert {n["name"]: n for n in json.loads(proc.stdout)["nodes"]}["predictions"]["attrs"]["activation"] == "sigmoid"
    assert archspec("summary", "resnet50", "--classifier-activation", "blah").returncode == 2


def test_check_weights_without_h5py_says_what_to_install(tmp_path):
    blocker = tmp_path / "h5py.py"
    blocker.write_text("raise ImportError('h5py is not installed')\n")
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"not really hdf5")
    env = {**ENV, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "archspec", "check-weights", "resnet50", str(weights)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "needs h5py" in proc.stderr and "pip install h5py" in proc.stderr


def test_build_without_tensorflow_says_what_to_install(tmp_path):
    for module in ("keras", "tensorflow"):
        (tmp_path / f"{module}.py").write_text(f"raise ImportError(\"No module named '{module}'\")\n")
    env = {**ENV, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "archspec", "build", "resnet50"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "needs TensorFlow" in proc.stderr and "archspec-cnn[tensorflow]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_size_that_is_not_the_input_multiple_is_refused_at_the_requirement(monkeypatch):
    """unet_resnet34 declares `input_multiple: 32` (smp's Unet and FPN, torchvision's FPN and YOLOv8 need it):
    build refuses 70 at that line, with the multiples of 32 on either side, before it builds anything; the
    CLI's summary likewise, located in the file that declares it (yolov8s inherits it from yolov8n)."""
    import pytest

    from archspec import build
    from archspec.errors import SpecError

    from tests.support.paths import ROOT, SPECS

    monkeypatch.chdir(ROOT)

    def declared(name: str) -> str:
        lines = (SPECS / f"{name}.yaml").read_text().splitlines()
        number = next(k for k, line in enumerate(lines, 1) if line.startswith("input_multiple:"))
        return f"specs/{name}.yaml:{number}:"

    with pytest.raises(SpecError) as refused:
        build("unet_resnet34", input_shape=(70, 70, 3))
    assert str(refused.value).startswith(declared("unet_resnet34"))
    assert "input size 70x70 is not a multiple of 32 (input_multiple: 32); the nearest valid sizes are 64x64 " \
           "and 96x96" in str(refused.value)
    proc = archspec("summary", "yolov8s", "--input-shape", "640,600,3", cwd=ROOT)
    assert proc.returncode == 1 and proc.stderr.startswith(declared("yolov8n")) and "Traceback" not in proc.stderr
    assert "640x600 is not a multiple of 32" in proc.stderr and "640x576 and 640x608" in proc.stderr

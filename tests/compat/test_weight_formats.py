"""Both Keras weight formats, transfer learning in one call, and wrong files refused before TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
import zipfile

import keras
import numpy as np
import pytest

import archspec
from archspec.backend.load import SkippedWeightsWarning
from tests.support.reference import randomize_weights, write_legacy_h5

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
OPTIONS = {"overrides": {"vars.alpha": 0.25}, "input_shape": (128, 128, 3)}  # a small MobileNet


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A keras.applications MobileNet(alpha=0.25) with seeded weights, written in both formats."""
    tmp = tmp_path_factory.mktemp("weights")
    ref = keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=(128, 128, 3))
    randomize_weights(ref, 0)
    write_legacy_h5(ref, tmp / "mobilenet.h5")
    ref.save_weights(tmp / "mobilenet.weights.h5")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 3)).astype("float32")
    return {"legacy": tmp / "mobilenet.h5", "keras3": tmp / "mobilenet.weights.h5", "x": x,
            "want": ref.predict(x, verbose=0), "tmp": tmp}


@pytest.mark.parametrize("fmt", ["legacy", "keras3"])
@pytest.mark.parametrize("by_name", [False, True])
def test_both_formats_load_by_order_and_by_name(files, fmt, by_name):
    model = archspec.build("mobilenet", weights=files[fmt], by_name=by_name, **OPTIONS)
    assert np.abs(model.predict(files["x"], verbose=0) - files["want"]).max() < 1e-5


def test_new_classes_load_everything_but_the_classifier_and_say_so(files):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = archspec.build("mobilenet", weights=files["keras3"], classes=10, **OPTIONS)
    notes = [str(w.message) for w in caught if issubclass(w.category, SkippedWeightsWarning)]
    assert len(notes) == 1 and "conv_preds" in notes[0] and "54 layers" in notes[0]
    assert model.output_shape == (None, 10)
    ref = keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=(128, 128, 3))
    ref.load_weights(files["keras3"])
    assert np.array_equal(model.get_layer("conv_pw_13").get_weights()[0], ref.get_layer("conv_pw_13").get_weights()[0])
    kernel, bias = model.get_layer("conv_preds").get_weights()  # the new classifier: its initializers ran
    assert kernel.shape == (1, 1, 256, 10) and kernel.std() > 1e-3 and not bias.any()


def test_a_top_file_loads_into_a_model_without_its_top(files):
    with pytest.warns(SkippedWeightsWarning, match="file layer\\(s\\) not used: conv_preds"):
        model = archspec.build("mobilenet", weights=files["legacy"], include_top=False, **OPTIONS)
    assert model.output_shape == (None, 4, 4, 256)


def test_a_mismatch_outside_the_head_is_still_an_error(files):
    with pytest.raises(ValueError, match="expects weights"):
        archspec.build("mobilenet", weights=files["legacy"], overrides={"vars.alpha": 0.5},
                       input_shape=(128, 128, 3))


def test_check_weights_reads_keras3_files_without_tensorflow(files):
    code = ("import sys; from archspec.cli import main; rc = main(['check-weights', 'mobilenet', '--set', "
            f"'vars.alpha=0.25', '--input-shape', '128,128,3', {str(files['keras3'])!r}]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "by order: 55 matched, 0 missing" in proc.stdout


def test_a_keras_model_zip_is_refused_before_tensorflow_with_what_to_do(files):
    bad = files["tmp"] / "model.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "{}")
    code = ("import sys, archspec\ntry:\n    archspec.build('mobilenet', weights=sys.argv[1])\n"
            "except ValueError as e:\n    print(e)\nassert 'tensorflow' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True, env=ENV,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "zip archive" in proc.stdout and "save_weights" in proc.stdout


def test_cli_build_with_new_classes_warns_on_stderr(files):
    proc = subprocess.run([sys.executable, "-m", "archspec", "build", "mobilenet", "--set", "vars.alpha=0.25",
                           "--input-shape", "128,128,3", "--weights", str(files["legacy"]), "--classes", "10"],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "output (None, 10)" in proc.stdout
    assert "warning:" in proc.stderr and "conv_preds" in proc.stderr

"""``keras.config.image_data_format() == "channels_first"``: archspec builds what keras.applications builds,
and refuses what it refuses (issue 12).

TensorFlow on CPU cannot run a channels_first Conv2D ("The Conv2D op currently only supports the NHWC
tensor format on the CPU"; keras's own applications_test skips that case), so the models are compared in
one subprocess on Keras's PyTorch backend (JAX was tried: 20 s to build one MobileNet there): for each family, keras.applications' model and archspec's under
channels_first, same layer names and order, parameters, per-layer output shapes and channel-axis
attributes, and the same outputs with one seeded-random reference weight file loaded into both. The
in-process tests cover what needs no convolution: input shapes, refusals, ``input_tensor``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import pytest

import archspec
from archspec.api import keras_input_options, load_spec
from archspec.errors import SpecError
from tests.compat.test_keras_applications import MODEL_LIST
from tests.support.paths import ROOT

# (spec, keras.applications constructor, arguments for both): what each one exercises under channels_first
FAMILIES = [
    # BatchNormalization and Normalization axis, DepthwiseConv2D, squeeze-excite Reshape target (C, 1, 1),
    # Multiply broadcasting, correct_pad on odd sizes
    ("efficientnet_b0", "EfficientNetB0", {"include_top": False, "input_shape": (3, 33, 35)}),
    # Concatenate axis, pools, the classifier (Flatten-free: global pool + Dense) with its top
    ("inception_v3", "InceptionV3", {"input_shape": (3, 75, 75), "classes": 10, "classifier_activation": None}),
]

_SCRIPT = r"""
import json, sys
import keras, numpy as np
import archspec
from tests.support.reference import max_rel_error
from tests.zoo.test_mobilenet import _calibrated_weight_file

keras.config.set_image_data_format("channels_first")
out, tmp = {}, sys.argv[1]
for spec, constructor, options in json.loads(sys.argv[2]):
    options["input_shape"] = tuple(options["input_shape"])
    variant = {"alpha": options.pop("alpha")} if "alpha" in options else {}
    keras.backend.clear_session()
    ref = getattr(keras.applications, constructor)(weights=None, **variant, **options)
    path = f"{tmp}/{spec}.h5"
    _calibrated_weight_file(ref, path)  # seeded random weights, batch-norm statistics of a random batch
    keras.backend.clear_session()
    ours = archspec.build(spec, weights=path, overrides={f"vars.{k}": v for k, v in variant.items()}, **options)
    x = np.random.default_rng(1).uniform(0, 255, (4, *options["input_shape"])).astype("float32")
    a, b = ours.predict(x, verbose=0), ref.predict(x, verbose=0)
    axes = lambda m: [(l.name, c.get("axis"), c.get("data_format"), c.get("target_shape"))
                      for l in m.layers for c in [l.get_config()]]
    out[spec] = {"names": [[l.name for l in ours.layers], [l.name for l in ref.layers]],
                 "params": [ours.count_params(), ref.count_params()],
                 "shapes": [[str(l.output.shape) for l in ours.layers], [str(l.output.shape) for l in ref.layers]],
                 "axes": [axes(ours), axes(ref)], "input": [list(ours.input_shape), list(ref.input_shape)],
                 "error": max_rel_error(a, b), "spread": float(np.std(b, axis=0).mean() / (np.abs(b).mean() + 1e-12))}
print("RESULT " + json.dumps(out))
"""


@pytest.fixture
def channels_first():
    before = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    yield
    keras.config.set_image_data_format(before)


@pytest.fixture(scope="module")
def on_torch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("channels_first")
    env = {**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1",  # one thread: no spinning on 2 cores
           "KERAS_HOME": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp), json.dumps(FAMILIES)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT ", 1)[1])


@pytest.mark.parametrize("spec", [f[0] for f in FAMILIES])
def test_same_model_as_keras_applications_under_channels_first(on_torch, spec):
    got = on_torch[spec]
    ours, ref = got["names"]
    assert ours == ref
    assert got["params"][0] == got["params"][1]
    assert got["input"][0] == got["input"][1] and got["input"][0][1] == 3  # (None, C, H, W)
    assert got["shapes"][0] == got["shapes"][1]
    assert got["axes"][0] == got["axes"][1]  # BN/Concatenate/Normalization axis 1, Reshape targets, formats
    assert any(data_format == "channels_first" for _, _, data_format, _ in got["axes"][0])
    assert got["spread"] > 1e-3  # the outputs depend on the input: the comparison is not vacuous
    assert got["error"] < 1e-4


def test_keras_refuses_densenet_and_so_does_archspec(channels_first):
    with pytest.raises(ValueError, match="DenseNet does not support the `channels_first`"):
        keras.applications.DenseNet121(weights=None, include_top=False, input_shape=(3, 32, 32))
    for spec in ("densenet121", "densenet201"):  # densenet201 inherits the refusal through extends
        with pytest.raises(SpecError, match="does not support the `channels_first` image data format") as info:
            archspec.build(spec, include_top=False, input_shape=(3, 32, 32))
        assert info.value.diagnostics[0].location.file.endswith("densenet121.yaml")


@pytest.mark.parametrize("spec,_", MODEL_LIST[::4])
def test_input_shape_is_read_as_keras_reads_it(spec, _):
    """applications_test's channels_first shapes: (3, 123, 123) is 123x123 with 3 channels; (4, 200, 200)."""
    loaded = load_spec(spec)
    for shape, want in [((3, 123, 123), (123, 123, 3)), ((4, 200, 200), (200, 200, 4)), ((3, None, None), (None, None, 3))]:
        got = keras_input_options(loaded, {"include_top": False, "input_shape": shape}, data_format="channels_first")
        assert got["input_shape"] == want


def test_a_channels_last_shape_under_channels_first_is_refused_with_a_hint(channels_first):
    with pytest.raises(ValueError, match="Input size must be at least 32x32") as info:
        archspec.build("mobilenet", include_top=False, input_shape=(224, 224, 3))
    assert "did you mean (3, 224, 224)?" in info.value.diagnostics[0].hint
    with pytest.raises(ValueError, match=r"should be \(3, 224, 224\)"):
        archspec.build("mobilenet", weights="imagenet", input_shape=(3, 100, 100))


def test_input_tensor_and_variable_size_under_channels_first(channels_first):
    """applications_test.test_application_notop_custom_input_tensor, channels_first (symbolic: no convolution
    runs), and the default no-top input (None, 3, None, None)."""
    inputs = keras.Input((4, 200, 200), name="custom_input")
    x = keras.layers.Conv2D(3, 2, strides=2)(inputs)
    model = archspec.build("mobilenet", include_top=False, input_tensor=x, overrides={"vars.alpha": 0.25})
    assert model.output_shape == (None, 256, 3, 3)
    assert archspec.build("mobilenet", include_top=False, pooling="max",
                          overrides={"vars.alpha": 0.25}).input_shape == (None, 3, None, None)

"""``adapt_input_channels`` with Keras weight files: a kernel stored as ``(kh, kw, 3, out)`` fills a model with
another input channel count (issue 25, item 4).

The reference is keras.applications.MobileNet(alpha=0.25) without its top: seeded random weights, batch-norm
statistics those of a real batch (the zoo's calibrated file), written in the published legacy layout and by
Keras's own ``save_weights`` (a Keras 3 ``.weights.h5``). The 1-channel reference is the same network built by
keras.applications for ``(32, 32, 1)``, given those weights with the first kernel summed over its input axis
in numpy (timm's rule for one channel). archspec loads the 3-channel files, the published one through
``weights="imagenet"`` from a seeded Keras cache (nothing is fetched).
"""

from __future__ import annotations

import json
import re

import pytest
from keras.src.applications import mobilenet

import archspec
from archspec.backend.load import SkippedWeightsWarning
from archspec.errors import SpecError
from tests.support.reference import assert_same_outputs
from tests.zoo.test_mobilenet import _calibrated_weight_file

SHAPE = (32, 32, 1)  # the smallest input keras accepts; its published no-top file is the one named for 224
ALPHA = {"vars.alpha": 0.25}


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    """The 3-channel reference's files (legacy layout, Keras 3 layout) and the 1-channel reference with the
    numpy-adapted kernel (``kernels``: timm's sum, and a wrong rule, the mean, to show that a comparison tells
    them apart)."""
    folder = tmp_path_factory.mktemp("chans")
    ref3 = mobilenet.MobileNet(alpha=0.25, weights=None, include_top=False, input_shape=(32, 32, 3))
    legacy = _calibrated_weight_file(ref3, folder / "mobilenet_notop.h5")
    keras3 = folder / "mobilenet.weights.h5"
    ref3.save_weights(keras3)
    weights = ref3.get_weights()
    assert ref3.layers[1].name == "conv1" and weights[0].shape == (3, 3, 3, 8)  # the kernel that reads the input
    ref = mobilenet.MobileNet(alpha=0.25, weights=None, include_top=False, input_shape=SHAPE)
    ref.set_weights([weights[0].sum(axis=2, keepdims=True), *weights[1:]])
    return {"legacy": legacy, "keras3": keras3, "ref": ref, "wrong": weights[0].mean(axis=2, keepdims=True)}


def _build(weights, **kwargs):
    with pytest.warns(SkippedWeightsWarning, match=r"layer 'conv1' takes the file's kernel \(3, 3, 3, 8\) adapted "
                                                   r"from 3 to 1 input channel\(s\) \(summed, timm's in_chans rule\)"):
        return archspec.build("mobilenet", weights=weights, overrides=ALPHA, include_top=False, input_shape=SHAPE,
                              adapt_input_channels=True, **kwargs)


def test_published_weights_for_one_channel(refs, tmp_path, monkeypatch):
    """``weights="imagenet"`` with a 1-channel input_shape: keras.applications refuses it, archspec names the
    option; with it, the cached published file (by order) gives the numpy-adapted reference's outputs."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(refs["legacy"].read_bytes())
    with pytest.raises(SpecError) as refused:
        archspec.build("mobilenet", weights="imagenet", overrides=ALPHA, include_top=False, input_shape=SHAPE)
    assert "The input must have 3 channels; Received `input_shape=(32, 32, 1)`" in str(refused.value)
    assert "--adapt-input-channels (adapt_input_channels=True)" in str(refused.value)
    model = _build("imagenet")
    assert_same_outputs(model, refs["ref"], seed=1)
    kernel = refs["ref"].layers[1].kernel
    right = kernel.numpy()
    kernel.assign(refs["wrong"])
    try:
        with pytest.raises(AssertionError, match="outputs differ"):  # a wrong rule does not pass
            assert_same_outputs(model, refs["ref"], seed=1)
    finally:
        kernel.assign(right)


def test_keras3_file_for_one_channel_and_check_weights(refs, cli):
    """A ``.weights.h5`` Keras wrote: the same outputs; ``check-weights`` reaches build's verdict either way."""
    assert_same_outputs(_build(refs["keras3"]), refs["ref"], seed=2)
    args = ["check-weights", "mobilenet", str(refs["keras3"]), "--set", "vars.alpha=0.25", "--no-top",
            "--input-shape", "32,32,1"]
    code, out, _ = cli(*args)
    assert code == 1
    assert ("layer 'conv1' expects weights [(3, 3, 1, 8)] but file layer 'conv1' has [(3, 3, 3, 8)]" in out
            and "--adapt-input-channels (adapt_input_channels=True) adapts them as timm's in_chans does" in out)
    code, out, _ = cli(*args, "--adapt-input-channels", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["loads"] == "order" and report["reports"][0]["complete"]
    assert report["reports"][0]["adapted"] == ["layer 'conv1' takes the file's kernel (3, 3, 3, 8) adapted from 3 to "
                                               "1 input channel(s) (summed, timm's in_chans rule)"]


def test_other_mismatches_stay_errors(refs, cli):
    """alpha 0.5 doubles every width: the option adapts nothing, and says why at the first layer."""
    options = ["--set", "vars.alpha=0.5", "--no-top", "--input-shape", "32,32,1", "--adapt-input-channels"]
    code, out, _ = cli("check-weights", "mobilenet", refs["legacy"], *options)
    assert code == 1
    code, _, err = cli("build", "mobilenet", "--weights", refs["legacy"], *options)
    assert code == 1
    error = next(line for line in err.splitlines() if ": error: " in line)
    assert error in out.splitlines()  # build's diagnostic is check-weights'
    assert ("layer 'conv1' expects weights [(3, 3, 1, 16)] but file layer 'conv1' has [(3, 3, 3, 8)] (" in error
            and "--adapt-input-channels does not apply: the stored shapes are not those of this conv2d layer for "
                "another input channel count" in error)
    assert re.match(r"\S*specs/lib/mobilenet\.yaml:\d+:\d+: error: ", error), error  # the line of the step

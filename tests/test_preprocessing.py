"""archspec.preprocess matches Keras's preprocess_input for each spec's declared mode."""

from __future__ import annotations

import numpy as np
import pytest
from keras.applications import imagenet_utils

import archspec


@pytest.mark.parametrize("spec,mode", [("resnet50", "caffe"), ("resnet101", "caffe")])
def test_resnet_specs_declare_caffe(spec, mode):
    assert archspec.load_spec(spec).data["preprocessing"] == mode


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_modes_match_keras_preprocess_input(tmp_path, mode):
    spec = tmp_path / "p.yaml"
    spec.write_text(f"archspec: 1\nname: p\ninput: [8, 8, 3]\npreprocessing: {mode}\n"
                    "stages: {s: {body: [{op: conv2d, filters: 1, kernel_size: 1}]}}\n")
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = imagenet_utils.preprocess_input(images.copy(), mode=mode)
    got = archspec.preprocess(spec, images)
    assert np.allclose(got, np.asarray(expected), atol=1e-4)
    assert np.array_equal(images, np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32"))


def test_every_bundled_spec_declares_a_preprocessing_mode():
    from archspec.lang.sources import bundled_names

    for name in bundled_names():
        mode = archspec.load_spec(name).data.get("preprocessing")
        if mode == "none":  # only a model that preprocesses inside itself, as keras.applications' does
            ops = {d["op"] for d in archspec.expand(name).nodes.values()}
            assert ops & {"rescaling", "normalization"}, name
        else:
            assert mode in ("caffe", "tf", "torch", "unit"), name


def test_unit_mode_scales_pixels_to_the_unit_interval():
    """``unit``: what Ultralytics' YOLO takes (``im / 255``, RGB kept), for arrays and for tensors in a model."""
    images = np.array([[[[0, 51, 255]]]], dtype="uint8")
    assert archspec.load_spec("yolov8n").data["preprocessing"] == "unit"
    assert np.allclose(archspec.preprocess("yolov8n", images), [[[[0.0, 0.2, 1.0]]]])
    assert images[0, 0, 0, 1] == 51  # the input is not changed
    import keras

    x = keras.Input((1, 1, 3))
    model = keras.Model(x, archspec.preprocess("yolov8n", x))
    assert np.allclose(model(images.astype("float32")), [[[[0.0, 0.2, 1.0]]]])

"""archspec.build takes keras.applications' arguments and applies its input checks (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import archspec
from archspec.api import layer_graph
from archspec.errors import SpecError

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_spec_error_is_a_value_error_with_its_location():
    with pytest.raises(ValueError) as info:
        archspec.build("resnet50", include_top=True, input_shape=(None, None, 3))
    assert isinstance(info.value, SpecError)
    assert info.value.diagnostics[0].location.file.endswith("resnet50.yaml")
    assert info.value.diagnostics[0].location.line == 5
    assert "you should specify a static `input_shape`" in str(info.value)


def test_no_top_is_variable_size_and_runs_on_any_image():
    model = archspec.build("resnet18", include_top=False)
    assert model.input_shape == (None, None, None, 3)
    assert model(np.zeros((1, 160, 192, 3), "float32")).shape == (1, 5, 6, 512)


def test_no_top_with_a_shape_keeps_it():
    assert layer_graph("resnet50", include_top=False, input_shape=(123, 123, 3)).input_shape == (123, 123, 3)


@pytest.mark.parametrize("spec,size,minimum", [("resnet50", 31, 32), ("vgg16", 1, 32), ("inception_v3", 74, 75),
                                               ("xception", 70, 71), ("inception_resnet_v2", 74, 75)])
def test_below_the_family_minimum_is_refused(spec, size, minimum):
    with pytest.raises(ValueError, match=f"Input size must be at least {minimum}x{minimum}"):
        layer_graph(spec, include_top=False, input_shape=(size, size, 3))
    layer_graph(spec, include_top=False, input_shape=(minimum, minimum, 3))  # the minimum itself builds


def test_channels_first_shape_is_not_taken_as_224_channels():
    with pytest.raises(SpecError) as info:
        layer_graph("resnet50", include_top=False, input_shape=(3, 224, 224))
    assert "did you mean (224, 224, 3)?" in info.value.diagnostics[0].hint


@pytest.mark.parametrize("shape,message", [((224, 224), "tuple of three integers"),
                                           ((224, 224, None), "number of input channels"),
                                           ((224, 0, 3), "tuple of three integers")])
def test_malformed_input_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        layer_graph("resnet50", include_top=False, input_shape=shape)


def test_imagenet_weights_need_three_channels_and_the_default_size_with_top():
    with pytest.raises(ValueError, match="should be \\(224, 224, 3\\)"):
        archspec.build("resnet50", weights="imagenet", input_shape=(160, 160, 3))
    with pytest.raises(ValueError, match="must have 3 channels"):
        archspec.build("resnet50", weights="imagenet", include_top=False, input_shape=(160, 160, 1))


def test_classifier_activation_other_than_softmax_refused_with_weights(tmp_path):
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations"):
        archspec.build("resnet50", weights=tmp_path / "w.h5", classifier_activation="sigmoid")


def test_input_tensor_and_name():
    inputs = keras.Input((200, 200, 4), name="custom_input")
    x = keras.layers.Conv2D(3, 2, strides=2)(inputs)
    model = archspec.build("resnet18", include_top=False, input_tensor=x, name="backbone")
    assert model.name == "backbone"
    assert model.inputs[0] is inputs  # the tensor's source input, one flat model as keras builds it
    assert model.output_shape == (None, 4, 4, 512)
    assert [layer.name for layer in model.layers[:3]] == ["custom_input", model.layers[1].name, "conv1_pad"]
    with pytest.raises(ValueError, match="does not match the shape of `input_tensor`"):
        archspec.build("resnet18", include_top=False, input_tensor=x, input_shape=(64, 64, 3))


def test_channels_first_is_refused_where_keras_refuses_it():
    """DenseNet refuses channels_first in keras.applications; the other families build it
    (tests/compat/test_channels_first.py)."""
    keras.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="does not support the `channels_first` image data format"):
            archspec.build("densenet121", include_top=False, input_shape=(1, None, None))
    finally:
        keras.config.set_image_data_format("channels_last")


def test_cli_input_shape_with_open_channels_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "archspec", "build", "resnet50", "--input-shape", "224,224,None"],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 2 and "channel count C must be a number" in proc.stderr


def test_cli_no_top_is_variable_size():
    proc = subprocess.run([sys.executable, "-m", "archspec", "build", "resnet18", "--no-top"],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "output (None, None, None, 512)" in proc.stdout

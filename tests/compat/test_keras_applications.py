"""keras's own applications_test.py and imagenet_utils_test.py cases, run against archspec for the zoo's
families (keras/src/applications/*_test.py, Keras 3). Cases done differently are listed in
docs/keras-applications.md with the reason (channels_first is refused; the imagenet inference case needs the
network; shape-only cases check the layer graph, whose shapes tests/ops and tests/zoo hold to Keras)."""

from __future__ import annotations


import keras
import numpy as np
import pytest
from keras.applications import imagenet_utils

import archspec
from archspec.api import keras_input_options, layer_graph, load_spec
from tests.support.keras_cache import seed_class_index

# applications_test.MODEL_LIST, the families the zoo has: (spec, last_dim)
MODEL_LIST = [
    ("vgg16", 512), ("vgg19", 512), ("xception", 2048), ("inception_v3", 2048), ("inception_resnet_v2", 1536),
    ("mobilenet", 1024), ("mobilenet_v2", 1280), ("mobilenet_v3_small", 576), ("mobilenet_v3_large", 960),
    ("efficientnet_b0", 1280), ("efficientnet_b1", 1280), ("efficientnet_b2", 1408), ("efficientnet_b3", 1536),
    ("efficientnet_b4", 1792), ("efficientnet_b5", 2048), ("efficientnet_b6", 2304), ("efficientnet_b7", 2560),
    ("efficientnet_v2_b0", 1280), ("efficientnet_v2_b1", 1280), ("efficientnet_v2_b2", 1408),
    ("efficientnet_v2_b3", 1536), ("efficientnet_v2_s", 1280), ("efficientnet_v2_m", 1280),
    ("efficientnet_v2_l", 1280), ("densenet121", 1024), ("densenet169", 1664), ("densenet201", 1920),
    ("resnet50", 2048), ("resnet101", 2048), ("resnet152", 2048), ("resnet50v2", 2048), ("resnet101v2", 2048),
    ("resnet152v2", 2048), ("convnext_tiny", 768), ("convnext_small", 768), ("convnext_base", 1024),
    ("convnext_large", 1536), ("convnext_xlarge", 2048), ("nasnet_mobile", 1056), ("nasnet_large", 4032),
]


def _no_top_input(spec, **options):
    """The input shape build uses (keras's obtain_input_shape), then the graph at that shape."""
    opts = keras_input_options(load_spec(spec), {"include_top": False, **options}, variable=True)
    return layer_graph(spec, **opts)


@pytest.mark.parametrize("spec,last_dim", MODEL_LIST)
def test_application_notop_variable_input_channels(spec, last_dim):
    for channels in (1, 4):
        graph = _no_top_input(spec, input_shape=(None, None, channels))
        assert [None, *graph.layers[graph.output].shape] == [None, None, None, last_dim]


@pytest.mark.parametrize("spec,last_dim", MODEL_LIST)
def test_application_notop_custom_input_shape(spec, last_dim):
    assert _no_top_input(spec, input_shape=(123, 123, 3)).layers[-1].shape[-1] == last_dim


@pytest.mark.parametrize("spec,last_dim", MODEL_LIST)
def test_application_pooling(spec, last_dim):
    graph = _no_top_input(spec, pooling="max")
    assert [None, *graph.layers[graph.output].shape] == [None, last_dim]


@pytest.mark.parametrize("spec,last_dim", MODEL_LIST)
def test_application_classifier_activation(spec, last_dim):
    graph = layer_graph(spec, include_top=True, classifier_activation="softmax")
    last = graph.layers[graph.output]
    assert last.attrs.get("activation") == "softmax", (last.name, last.attrs)


@pytest.mark.parametrize("spec,last_dim", [("mobilenet", 1024), ("resnet50", 2048)])
def test_application_notop_custom_input_tensor(spec, last_dim):
    inputs = keras.Input(shape=(200, 200, 4), name="custom_input")
    x = keras.layers.Conv2D(3, (2, 2), padding="valid", strides=(2, 2))(inputs)
    model = archspec.build(spec, weights=None, include_top=False, input_tensor=x)
    assert list(model.outputs[0].shape)[-1] == last_dim


# ---------------------------------------------------------------- imagenet_utils_test
@pytest.mark.parametrize("spec,mode", [("resnet50", "caffe"), ("mobilenet", "tf"), ("densenet121", "torch")])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_input(spec, mode, data_format):
    x = np.random.uniform(0, 255, (2, 10, 10, 3)).astype("float32")
    if data_format == "channels_first":
        x = np.transpose(x, (0, 3, 1, 2))
    want = imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    got = archspec.preprocess(spec, x, data_format=data_format)
    assert got.shape == x.shape and np.allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("spec,mode", [("resnet50", "caffe"), ("mobilenet", "tf"), ("densenet121", "torch")])
def test_preprocess_input_symbolic(spec, mode):
    x = np.random.uniform(0, 255, (2, 10, 10, 3)).astype("float32")
    inputs = keras.Input(shape=x.shape[1:])
    model = keras.Model(inputs, archspec.preprocess(spec, inputs))
    assert np.allclose(model(x), imagenet_utils.preprocess_input(x.copy(), mode=mode), atol=1e-4)


def test_obtain_input_shape(tmp_path):
    spec = tmp_path / "s.yaml"  # a family with default size 299 and minimum 139, as the keras test uses
    spec.write_text("archspec: 1\nname: s\ninput: [299, 299, 3]\nmin_input: 139\n"
                    "stages: {s: {body: [{op: conv2d, filters: 1, kernel_size: 1}]}}\n")
    loaded = load_spec(spec)
    for options, weights in [({"input_shape": (224, 224, 3)}, "imagenet"),  # not the default size
                             ({"input_shape": (100, 100, 3), "include_top": False}, None),  # below min_size
                             ({"input_shape": (100, 3), "include_top": False}, None),  # 1D
                             ({"input_shape": (100, 100, 5), "include_top": False}, "imagenet"),  # 5 channels
                             ({"input_shape": (None, None, 3)}, None)]:  # require_flatten, dynamic shape
        with pytest.raises(ValueError):
            keras_input_options(loaded, options, weights, variable=True)
    assert keras_input_options(loaded, {"include_top": False}, None, variable=True)["input_shape"] == (None, None, 3)
    assert keras_input_options(loaded, {"input_shape": (150, 150, 3), "include_top": False})["input_shape"] == \
        (150, 150, 3)


def test_decode_predictions_from_the_keras_cache(tmp_path, monkeypatch):
    """The class index comes from $KERAS_HOME/models/imagenet_class_index.json, the file keras uses: a
    seeded cache is read offline (a synthetic index here, so its hash is substituted for the published one)."""
    seed_class_index(tmp_path, monkeypatch)
    preds = np.zeros((2, 1000), "float32")
    preds[0, 7], preds[0, 3], preds[1, 999] = 0.9, 0.1, 1.0
    decoded = archspec.decode_predictions(preds, top=2)
    assert decoded[0] == [("n00000007", "class_7", np.float32(0.9)), ("n00000003", "class_3", np.float32(0.1))]
    assert decoded[1][0][:2] == ("n00000999", "class_999")
    with pytest.raises(ValueError, match="shape"):
        archspec.decode_predictions(np.zeros((2, 10)))

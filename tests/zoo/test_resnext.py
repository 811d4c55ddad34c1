"""ResNeXt-50 32x4d, ResNeXt-101 32x8d, Wide ResNet-50-2/101-2: torchvision's topology with grouped 3x3s.

keras.applications has none of these, so the reference is written here: plain Keras functional code that
follows torchvision's resnet.py (ResNet(Bottleneck, layers, groups, width_per_group)) step by step, with
keras.applications-style layer names. It is checked against the numbers torchvision publishes (parameter
counts, GFLOPS), and the specs must compute its function after loading its weights by order and by name.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from tests.support.reference import assert_same_outputs, final_softmax_as_linear, max_rel_error, reference_weight_file

SMALL = (64, 64, 3)   # 2x2 after the /32 downsampling

# name -> torchvision's builder arguments (blocks per stage, groups, width_per_group) and the
# num_params / GFLOPS of its documentation (the "GFLOPS" there count multiply-accumulates)
TORCHVISION = {
    "resnext50_32x4d": ([3, 4, 6, 3], 32, 4, 25_028_904, 4.23),
    "resnext101_32x8d": ([3, 4, 23, 3], 32, 8, 88_791_336, 16.41),
    "wide_resnet50_2": ([3, 4, 6, 3], 1, 128, 68_883_240, 11.40),
    "wide_resnet101_2": ([3, 4, 23, 3], 1, 128, 126_886_696, 22.75),
}


def torchvision_resnet(layers, groups, width_per_group, input_shape=SMALL, classes=1000):
    """torchvision.models.resnet.ResNet with Bottleneck blocks, in Keras (channels last, NHWC).

    torch's Conv2d(3x3, stride 2, padding 1) pads every side by 1: ZeroPadding2D(1) + a 'valid' conv; with
    stride 1 that is 'same'. MaxPool2d(3, 2, padding=1) pads with -inf, equivalent to zeros after a ReLU.
    BatchNorm2d's eps is 1e-5. The shortcut ("downsample") is the first Add input, as keras.applications.
    """
    L = keras.layers

    def bn(name):
        return L.BatchNormalization(epsilon=1e-5, name=name)

    inputs = keras.Input(input_shape)
    x = L.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = L.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = L.Activation("relu", name="conv1_relu")(bn("conv1_bn")(x))
    x = L.ZeroPadding2D(1, name="pool1_pad")(x)
    x = L.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    inplanes, expansion = 64, 4
    for s, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        for b in range(blocks):
            name, stride = f"conv{s + 2}_block{b + 1}", 2 if s > 0 and b == 0 else 1
            width = int(planes * (width_per_group / 64.0)) * groups
            shortcut = x
            if stride != 1 or inplanes != planes * expansion:
                shortcut = L.Conv2D(planes * expansion, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(x)
                shortcut = bn(f"{name}_0_bn")(shortcut)
            y = L.Conv2D(width, 1, use_bias=False, name=f"{name}_1_conv")(x)
            y = L.Activation("relu", name=f"{name}_1_relu")(bn(f"{name}_1_bn")(y))
            if stride != 1:
                y = L.ZeroPadding2D(1, name=f"{name}_2_pad")(y)
            y = L.Conv2D(width, 3, strides=stride, padding="same" if stride == 1 else "valid", groups=groups,
                         use_bias=False, name=f"{name}_2_conv")(y)
            y = L.Activation("relu", name=f"{name}_2_relu")(bn(f"{name}_2_bn")(y))
            y = bn(f"{name}_3_bn")(L.Conv2D(planes * expansion, 1, use_bias=False, name=f"{name}_3_conv")(y))
            x = L.Activation("relu", name=f"{name}_out")(L.Add(name=f"{name}_add")([shortcut, y]))
            inplanes = planes * expansion
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = L.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs)


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_counts_match_torchvision_from_the_pure_python_graph(name):
    *_, params, gflops = TORCHVISION[name]
    graph = archspec.expand(name)
    nodes = graph.nodes.values()
    assert sum(int(np.prod(w.shape)) for d in nodes for w in d["weights"] if w.trainable) == params
    assert round(sum(d["macs"] for d in nodes) / 1e9, 2) == gflops
    assert graph.graph["preprocessing"] == "torch"


class Case:
    """The reference at SMALL with seeded random weights in a legacy .h5, built once per module."""

    def __init__(self, name, tmp_path):
        keras.backend.clear_session()
        layers, groups, width_per_group, self.params, _ = TORCHVISION[name]
        self.name, self.groups, self.width_per_group = name, groups, width_per_group
        self.ref = torchvision_resnet(layers, groups, width_per_group)
        self.path = reference_weight_file(self.ref, tmp_path / f"{name}.h5")

    def build(self, by_name, **options):
        return archspec.build(self.name, weights=self.path, by_name=by_name, input_shape=SMALL, **options)

    def check(self, model):
        assert [layer.name for layer in model.layers] == [layer.name for layer in self.ref.layers]
        assert model.count_params() == self.ref.count_params()
        with final_softmax_as_linear(model, self.ref):  # random logits saturate the softmax
            return assert_same_outputs(model, self.ref, seed=1, tol=1e-4)


@pytest.fixture(scope="module")
def case(request, tmp_path_factory):
    """Parametrised indirectly by network name; pytest groups the tests by name, so one build each."""
    return Case(request.param, tmp_path_factory.mktemp(request.param))


# pytest groups tests that share a module fixture by parameter *position*, so every parametrisation of
# `case` below is a prefix of NETS: one reference build per network for the whole module
NETS = ["resnext50_32x4d", "wide_resnet50_2", "resnext101_32x8d", "wide_resnet101_2"]


@pytest.mark.parametrize("case", NETS, indirect=True)
def test_reference_is_torchvisions_network(case):
    """The test's own reference has torchvision's parameter count (so it is worth comparing against)."""
    assert trainable(case.ref) == case.params


@pytest.mark.parametrize("case", NETS, indirect=True)
def test_matches_reference_by_order(case):
    check_loaded(case, case.build(by_name=False))


# by name for the 50-layer nets: the 101s only repeat the same template more often, and check() already
# compares every layer name, in order, with the reference's, which is what a by-name load relies on
@pytest.mark.parametrize("case", NETS[:2], indirect=True)
def test_matches_reference_by_name(case):
    check_loaded(case, case.build(by_name=True))


def check_loaded(case, model):
    case.check(model)
    assert trainable(model) == case.params
    layers = {layer.name: layer for layer in model.layers}
    for stage, planes, size in (("conv2", 64, 16), ("conv3", 128, 8), ("conv5", 512, 2)):
        conv, width = layers[f"{stage}_block1_2_conv"], planes * case.width_per_group // 64 * case.groups
        assert (conv.filters, conv.groups, conv.use_bias) == (width, case.groups, False)
        assert tuple(conv.kernel.shape) == (3, 3, width // case.groups, width)  # really grouped
        assert conv.output.shape[1:] == (size, size, width)
    assert all(layer.epsilon == 1e-5 for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))


@pytest.mark.parametrize("case", NETS[:1], indirect=True)
def test_headless_options(case):
    """include_top=False with pooling, classes and classifier_activation, as keras.applications offers them
    (once for the family; the avg head is the top's avg_pool, checked above). The full file loads by name
    into the headless model, minus predictions."""
    features = keras.Model(case.ref.input, case.ref.get_layer("conv5_block3_out").output)
    x = np.random.default_rng(2).standard_normal((2, *SMALL)).astype("float32")
    expected = np.max(np.asarray(features(x, training=False)), axis=(1, 2))
    model = case.build(True, include_top=False, pooling="max", allow_partial=True)
    assert model.layers[-1].name == "max_pool" and model.output_shape == (None, 2048)
    assert max_rel_error(model(x, training=False), expected) < 1e-4
    logits = archspec.build("resnext50_32x4d", input_shape=SMALL, classes=10, classifier_activation=None)
    assert logits.output_shape == (None, 10) and logits.layers[-1].activation is keras.activations.linear
    # the grouped 3x3 really is grouped on this backend (TensorFlow on CPU runs it through XLA): each
    # group of 8 output channels sees only its own 8 input channels
    conv = model.get_layer("conv3_block1_2_conv")
    assert (conv.groups, tuple(conv.strides), conv.padding) == (32, (2, 2), "valid")
    inp = np.random.default_rng(3).standard_normal((1, 18, 18, 256)).astype("float32")
    kernel, out = np.asarray(conv.kernel), np.zeros((1, 8, 8, 256))
    for g in range(32):
        part = slice(8 * g, 8 * g + 8)
        for dy in range(3):
            for dx in range(3):
                window = inp[:, dy:dy + 15:2, dx:dx + 15:2, part]
                out[..., part] += np.einsum("bhwc,cd->bhwd", window, kernel[dy, dx, :, part])
    assert max_rel_error(conv(inp), out) < 1e-5

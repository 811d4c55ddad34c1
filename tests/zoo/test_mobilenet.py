"""MobileNet, MobileNetV2, MobileNetV3Small/Large specs against keras.applications.

Why: the specs must load the published ImageNet ``.h5`` files (by order, as keras.applications does,
and by name) and compute the reference's function. A seeded random reference written in the legacy
layout stands in for the published files. Every reference is built once, at the smallest input Keras
accepts (32x32), right after ``clear_session()`` so its auto-names (re_lu_N, activation_N, ...) are those
of a fresh process.

MobileNetV3 computes its squeeze-and-excite hard sigmoid as ``ReLU(6.)(x + 3.0) * (1.0 / 6.0)``, where ``+``
and ``*`` are Keras operations, not layers; the specs write them with the ops add_scalar/multiply_scalar,
so ``model.layers`` and ``model.operations`` equal the reference's, names and order.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from tests.support.reference import (
    assert_same_outputs,
    final_softmax_as_linear,
    graph_counts,
    randomize_weights,
    write_legacy_h5,
)

TINY = (32, 32, 3)  # the minimum input size of all four references: 1x1 after the /32 downsampling
ODD = (33, 35, 3)   # odd sizes exercise Keras's correct_pad arithmetic (V2, V3) and the V1 padding

REFERENCES = {
    "mobilenet": keras.applications.MobileNet,
    "mobilenet_v2": keras.applications.MobileNetV2,
    "mobilenet_v3_small": keras.applications.MobileNetV3Small,
    "mobilenet_v3_large": keras.applications.MobileNetV3Large,
}
# keras.applications at 224x224 with the top: layers with weights, parameters.
COUNTS = {
    "mobilenet": (55, 4_253_864),
    "mobilenet_v2": (105, 3_538_984),
    "mobilenet_v3_small": (88, 2_554_968),
    "mobilenet_v3_large": (110, 5_507_432),
}
# Multiply-adds at 224x224, width 1.0, from the papers: MobileNets Table 8 (569M), MobileNetV2 Table 3
# (300M), Searching for MobileNetV3 Table 3 (Large 219M, Small 56M).
PAPER_MACS = {
    "mobilenet": 569e6,
    "mobilenet_v2": 300e6,
    "mobilenet_v3_small": 56e6,
    "mobilenet_v3_large": 219e6,
}
def _operations(model: keras.Model) -> list[tuple[str, str, list[str]]]:
    """``model.operations`` in order: name, class and the operations feeding each (layers or not)."""
    out = []
    for op in model.operations:
        (node,) = op._inbound_nodes
        out.append((op.name, type(op).__name__, [t._keras_history.operation.name for t in node.input_tensors]))
    return out


def _calibrated_weight_file(model: keras.Model, path, seed: int = 0):
    """Seeded random weights whose BatchNormalization statistics are those of a random batch, written in
    the published legacy layout.

    Why: with plain random statistics these ReLU6 networks lose the input on the way (each ReLU halves
    the variance, depthwise kernels on 1x1 and 2x2 maps see few inputs), so every image gives the same
    logits to 1e-7 and a comparison would prove nothing. One training-mode pass with momentum 0 makes
    each layer's moving mean and variance its batch statistics (Dropout is after the last BN).
    """
    randomize_weights(model, seed=seed)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    x = np.random.default_rng([seed, 1]).standard_normal((8, *model.input_shape[1:])).astype("float32")
    try:
        for layer in norms:
            layer.momentum = 0.0
        model(x, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    write_legacy_h5(model, path)
    return path


class Case:
    """A randomised reference (built once) and its legacy weight file; archspec builds load it.

    ``variant`` holds keras.applications arguments that the specs expose as vars (alpha, ...): they go
    to the reference constructor and, as ``vars.<name>`` overrides, to archspec. ``options`` are the build
    options both share (include_top, pooling, classes, classifier_activation).
    """

    def __init__(self, name: str, tmp_path, input_shape=TINY, variant: dict | None = None, **options):
        keras.backend.clear_session()
        self.name, self.input_shape, self.options = name, input_shape, options
        self.variant = variant or {}
        self.ref = REFERENCES[name](weights=None, input_shape=input_shape, **self.variant, **options)
        self.path = _calibrated_weight_file(self.ref, tmp_path / f"{name}.h5")

    def build(self, by_name: bool) -> keras.Model:
        return archspec.build(self.name, weights=self.path, by_name=by_name, input_shape=self.input_shape,
                              overrides={f"vars.{k}": v for k, v in self.variant.items()}, **self.options)

    def check(self, model: keras.Model) -> float:
        """Same layer names in the same order, same operations (layers or not), same params, same outputs."""
        assert [layer.name for layer in model.layers] == [layer.name for layer in self.ref.layers]
        assert _operations(model) == _operations(self.ref)
        assert model.count_params() == self.ref.count_params()
        assert model.output_shape == self.ref.output_shape
        if getattr(self.ref.layers[-1], "activation", None) is keras.activations.get("softmax"):
            with final_softmax_as_linear(model, self.ref):  # random logits saturate the softmax
                return assert_same_outputs(model, self.ref, seed=1)
        return assert_same_outputs(model, self.ref, seed=1)


# ------------------------------------------------------------------------------------------ graph only

@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_at_224_from_the_pure_python_graph(name):
    assert graph_counts(archspec.expand(name)) == COUNTS[name]


@pytest.mark.parametrize("name", sorted(PAPER_MACS))
def test_macs_at_224_within_5_percent_of_the_paper(name):
    macs = sum(d["macs"] for d in archspec.expand(name).nodes.values())
    assert abs(macs - PAPER_MACS[name]) <= 0.05 * PAPER_MACS[name], f"{name}: {macs:,} MACs"


def test_mobilenet_v2_width_rounding_follows_make_divisible():
    """alpha 0.35: 32 * 0.35 = 11.2 rounds to 8, more than 10% down, so Keras adds 8 (Conv1 has 16)."""
    graph = archspec.expand("mobilenet_v2", overrides={"vars.alpha": 0.35})
    by_name = {d["name"]: d for d in graph.nodes.values()}
    assert by_name["Conv1"]["shape"][-1] == 16
    assert by_name["expanded_conv_project"]["shape"][-1] == 8      # int(16 * 0.35) = 5 -> 8
    assert by_name["block_16_project"]["shape"][-1] == 112         # int(320 * 0.35) = 112
    assert by_name["Conv_1"]["shape"][-1] == 1280                  # only alpha > 1 widens the last conv


# ------------------------------------------------------------------------------------------ with weights

@pytest.fixture(scope="module", params=sorted(REFERENCES))
def top(request, tmp_path_factory):
    """Each network with its classifier, at 32x32."""
    return Case(request.param, tmp_path_factory.mktemp(request.param))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_matches_reference_with_top(top, by_name):
    top.check(top.build(by_name))


def test_v3_gate_arithmetic_is_keras_operations_not_layers(top):
    """The reference's ``x + 3.0`` and ``* (1.0 / 6.0)`` are Keras operations outside model.layers, two per
    squeeze-and-excite block (if a future Keras made them layers, the spec would have to follow).
    :meth:`Case.check` holds archspec's model to the same operations, names and inputs."""
    model = top.ref
    layers = {id(layer) for layer in model.layers}
    ops = [(o.name, type(o).__name__) for o in model.operations if id(o) not in layers]
    blocks = sum(1 for layer in model.layers if layer.name.endswith("squeeze_excite_mul"))
    assert blocks == {"mobilenet_v3_small": 9, "mobilenet_v3_large": 8}.get(top.name, 0)
    assert ops == [pair for k in range(blocks) for pair in
                   ((f"add_{k}" if k else "add", "Add"), (f"multiply_{k}" if k else "multiply", "Multiply"))]


# Options (include_top / pooling / classes / classifier_activation) and the vars (alpha, depth_multiplier,
# minimalistic, include_preprocessing, dropout_rate), each loaded by name at 32x32 or an odd size.
OPTION_CASES = {
    "v1_avg_alpha_dm": ("mobilenet", ODD, {"alpha": 0.25, "depth_multiplier": 2},
                        {"include_top": False, "pooling": "avg"}),
    "v1_classes_linear": ("mobilenet", TINY, {"alpha": 0.5},
                          {"classes": 7, "classifier_activation": None}),
    "v2_max_alpha_035": ("mobilenet_v2", ODD, {"alpha": 0.35}, {"include_top": False, "pooling": "max"}),
    "v2_classes_alpha_14": ("mobilenet_v2", TINY, {"alpha": 1.4}, {"classes": 10}),
    "v3s_none_075": ("mobilenet_v3_small", ODD, {"alpha": 0.75}, {"include_top": False}),
    "v3s_minimalistic_classes": ("mobilenet_v3_small", TINY,
                                 {"minimalistic": True, "include_preprocessing": False, "dropout_rate": 0.0},
                                 {"classes": 5, "classifier_activation": None}),
    "v3l_avg": ("mobilenet_v3_large", ODD, {}, {"include_top": False, "pooling": "avg"}),
    "v3l_max_minimalistic_125": ("mobilenet_v3_large", TINY, {"alpha": 1.25, "minimalistic": True},
                                 {"include_top": False, "pooling": "max"}),
}


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_options_and_vars_match_reference(case, tmp_path):
    name, shape, variant, options = OPTION_CASES[case]
    c = Case(name, tmp_path, input_shape=shape, variant=variant, **options)
    c.check(c.build(by_name=True))

"""EfficientNet B0-B7 specs against keras.applications: layer names, order, weights, function, MACs.

Why: the specs must load the published ImageNet ``.h5`` files, which keras.applications loads by order,
and users also load them by name. Every constructor is built once (at the smallest input it accepts) and
compared layer by layer with the pure-Python graph: the same names in the same order, each with the same
weight shapes (hence the same parameter count). EfficientNet is a chain with skip connections, so the
graph's creation order is the only topological order and is Keras's ``model.layers`` order; the built
Keras models of a representative subset are compared directly, and load a seeded random reference file by
order and by name and compute the reference's function.

With plain random weights EfficientNet forgets its input within a few blocks (every squeeze-excite gate
and swish roughly halves the signal while BatchNormalization offsets do not shrink), so the reference's
BatchNormalization statistics are first set to those of a batch of random pixels: still random weights,
but the logits then depend on the image and a wrong layer cannot hide.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import keras
import numpy as np
import pytest

import archspec
from tests.support.reference import (
    RELATIVE_TOLERANCE,
    final_softmax_as_linear,
    load_by_name,
    max_rel_error,
    randomize_weights,
    write_legacy_h5,
)

TINY = (32, 32, 3)  # keras.applications' minimum input (obtain_input_shape(min_size=32))
ODD = (33, 33, 3)   # odd sizes take the other branch of the stride-2 padding (keras' correct_pad)

REFERENCES = {
    "efficientnet_b0": keras.applications.EfficientNetB0,
    "efficientnet_b1": keras.applications.EfficientNetB1,
    "efficientnet_b2": keras.applications.EfficientNetB2,
    "efficientnet_b3": keras.applications.EfficientNetB3,
    "efficientnet_b4": keras.applications.EfficientNetB4,
    "efficientnet_b5": keras.applications.EfficientNetB5,
    "efficientnet_b6": keras.applications.EfficientNetB6,
    "efficientnet_b7": keras.applications.EfficientNetB7,
}
SIZES = {"efficientnet_b0": ODD}  # the others at TINY; the pooling tests run B0 at TINY

# Tan & Le 2019, Table 2: EfficientNet-B0 takes 0.39B FLOPs (multiply-adds) at 224x224.
PAPER_B0_MACS = 390e6


# ------------------------------------------------------------------------------------------ helpers
# (test_efficientnet_v2.py uses these too)

def fresh_reference(constructor: Any, input_shape: tuple, **options: Any) -> keras.Model:
    """``constructor(weights=None, ...)`` right after clear_session, so its auto-names (rescaling,
    normalization) are those of a fresh process, which archspec's per-build auto-names reproduce."""
    keras.backend.clear_session()
    return constructor(weights=None, input_shape=input_shape, **options)


def layer_table(model: keras.Model) -> list[tuple[str, list[tuple[int, ...]]]]:
    """(name, weight shapes in legacy order) of every layer, in ``model.layers`` order."""
    return [(layer.name, [tuple(int(d) for d in w.shape) for w in layer.trainable_weights + layer.non_trainable_weights])
            for layer in model.layers]


def graph_table(graph: Any) -> list[tuple[str, list[tuple[int, ...]]]]:
    """The same table from an expanded archspec graph, in creation order."""
    return [(d["name"], [tuple(w.shape) for w in d["weights"]]) for d in graph.nodes.values()]


def pixels(seed: int, batch: int, input_shape: tuple) -> np.ndarray:
    """Seeded images with values in [0, 255]: EfficientNet rescales and normalizes inside the model."""
    return np.random.default_rng(seed).uniform(0.0, 255.0, (batch, *input_shape)).astype(np.float32)


def calibrate_batch_norm(model: keras.Model, x: np.ndarray) -> None:
    """Set every BatchNormalization's moving statistics to its input's statistics on ``x``.

    One training-mode call with momentum 0 (and dropout off) writes the batch statistics into the moving
    averages; inference then normalizes each layer's input as that call did.
    """
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    drops = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    momenta, rates = [layer.momentum for layer in norms], [layer.rate for layer in drops]
    try:
        for layer in norms:
            layer.momentum = 0.0
        for layer in drops:
            layer.rate = 0.0
        model(x, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
        for layer, rate in zip(drops, rates):
            layer.rate = rate


def dropout_table(model: keras.Model) -> list[tuple[str, float, Any]]:
    return [(layer.name, layer.rate, None if layer.noise_shape is None else tuple(layer.noise_shape))
            for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


class Equivalence:
    """A reference with seeded random weights (BN statistics calibrated on random pixels) written in the
    published legacy ``.h5`` layout, and the checks an archspec build loading that file must pass."""

    def __init__(self, spec: str, ref: keras.Model, input_shape: tuple, tmp_path: Any):
        self.spec, self.ref, self.input_shape = spec, ref, input_shape
        randomize_weights(ref, seed=0)
        for layer in ref.layers:  # assigned statistics take effect on load; do here what loading does
            if isinstance(layer, keras.layers.Normalization):
                layer.finalize_state()
        calibrate_batch_norm(ref, pixels(2, 8, input_shape))
        self.path = tmp_path / f"{spec}.h5"
        write_legacy_h5(ref, self.path)

    def build(self, by_name: bool, **options: Any) -> keras.Model:
        return archspec.build(self.spec, weights=self.path, by_name=by_name, input_shape=self.input_shape,
                              **options)

    def check(self, model: keras.Model, ref: keras.Model | None = None, input_shape: tuple | None = None) -> float:
        """Same layers (names, order, weight shapes), dropout rates and function as ``ref`` (default: the
        reference the file came from); returns the relative error of the outputs (logits under a softmax)."""
        ref = self.ref if ref is None else ref
        input_shape = input_shape or self.input_shape
        assert layer_table(model) == layer_table(ref)
        assert model.count_params() == ref.count_params()
        assert dropout_table(model) == dropout_table(ref)
        x = pixels(1, 2, input_shape)
        softmax = getattr(ref.layers[-1], "activation", None) is keras.activations.get("softmax")
        with final_softmax_as_linear(model, ref) if softmax else contextlib.nullcontext():
            ours, theirs = np.asarray(model(x, training=False)), np.asarray(ref(x, training=False))
        spread = max_rel_error(theirs[0], theirs[1])
        assert spread >= 100 * RELATIVE_TOLERANCE, f"the reference hardly depends on its input ({spread:.3g})"
        error = max_rel_error(ours, theirs)
        assert error < RELATIVE_TOLERANCE, f"outputs differ: max relative error {error:.3g}"
        return error


# ------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def references():
    """Each keras.applications constructor built once for the module (weights=None, with the top)."""
    built: dict[str, keras.Model] = {}

    def get(name: str) -> keras.Model:
        if name not in built:
            built[name] = fresh_reference(REFERENCES[name], SIZES.get(name, TINY))
        return built[name]

    return get


@pytest.fixture(scope="module")
def b0(references, tmp_path_factory):
    return Equivalence("efficientnet_b0", references("efficientnet_b0"), ODD, tmp_path_factory.mktemp("b0"))


# ------------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_layers_match_reference(references, name):
    """Names, order and weight shapes of every layer (so the parameter count) as keras.applications."""
    ref = references(name)
    graph = archspec.expand(name, input_shape=SIZES.get(name, TINY))
    assert graph_table(graph) == layer_table(ref)
    assert sum(d["params"] for d in graph.nodes.values()) == ref.count_params()


def test_b0_macs_match_the_paper():
    macs = sum(d["macs"] for d in archspec.expand("efficientnet_b0").nodes.values())
    assert abs(macs - PAPER_B0_MACS) <= 0.05 * PAPER_B0_MACS, f"{macs / 1e6:.1f}M MACs"


def test_variants_scale_b0_by_compound_coefficients():
    """B1-B7 differ from B0 only in data: deeper stages (ceil(depth * repeats)) and wider layers."""
    b0, b7 = archspec.expand("efficientnet_b0"), archspec.expand("efficientnet_b7")
    blocks = lambda g, s: sorted({d["block"] for d in g.nodes.values() if d["stage"] == s})  # noqa: E731
    assert blocks(b0, "block6") == [f"block6{c}" for c in "abcd"]
    assert blocks(b7, "block6") == [f"block6{c}" for c in "abcdefghijklm"]  # ceil(3.1 * 4) = 13


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_b0_loads_reference_weights(b0, by_name):
    """At 33x33, so every stride-2 padding sees odd sizes (the pooling tests below see even ones)."""
    b0.check(b0.build(by_name))


@pytest.mark.parametrize("pooling, by_name", [("avg", False), ("max", True)])
def test_b0_headless_pooling(b0, tmp_path, pooling, by_name):
    """include_top=False with pooling, against the reference headless model holding the same weights
    (loaded by name from the full file), which it writes as a notop file like the published ones. At
    32x32: every stride-2 padding sees even sizes."""
    ref = fresh_reference(keras.applications.EfficientNetB0, TINY, include_top=False, pooling=pooling)
    load_by_name(ref, b0.path)
    assert ref.layers[-1].name == f"{pooling}_pool"
    notop = tmp_path / "efficientnet_b0_notop.h5"
    write_legacy_h5(ref, notop)
    ours = archspec.build("efficientnet_b0", weights=notop, by_name=by_name, input_shape=TINY, include_top=False,
                          pooling=pooling)
    b0.check(ours, ref, TINY)


def test_b0_classes_and_logits(b0):
    """classes and classifier_activation=None: the same classifier shape and a linear output."""
    ref = fresh_reference(keras.applications.EfficientNetB0, TINY, classes=10, classifier_activation=None)
    ours = archspec.build("efficientnet_b0", input_shape=TINY, classes=10, classifier_activation=None)
    assert layer_table(ours) == layer_table(ref)
    assert ours.output_shape == ref.output_shape == (None, 10)
    assert ours.layers[-1].get_config()["activation"] == ref.layers[-1].get_config()["activation"] == "linear"
    assert math.isclose(ours.get_layer("top_dropout").rate, ref.get_layer("top_dropout").rate)


@pytest.mark.parametrize("mask", [[None, 1, 1], [None, 1, 1, 2]], ids=["too_short", "not_broadcastable"])
def test_dropout_noise_shape_must_fit_its_input(tmp_path, mask):
    """Stochastic depth's noise_shape [null, 1, 1, 1] is checked against the feature map it masks."""
    spec = tmp_path / "drop.yaml"
    spec.write_text("archspec: 1\nname: drop\ninput: [8, 8, 3]\nstages:\n  s: {body: [{op: dropout, rate: 0.1, "
                    f"noise_shape: {mask!r}}}]}}\n".replace("None", "null"))
    with pytest.raises(archspec.SpecError, match="noise_shape"):
        archspec.expand(spec)

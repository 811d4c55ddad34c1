"""Tests for the reference-equivalence helpers in ``reference.py``."""

from __future__ import annotations

import shutil

import h5py
import keras
import numpy as np
import pytest

from .reference import (
    assert_same_outputs,
    final_softmax_as_linear,
    legacy_resnet50,
    legacy_submodules,
    load_by_name,
    load_by_order,
    max_rel_error,
    randomize_weights,
    write_legacy_h5,
)

SMALL = (64, 64, 3)


def _resnet50(**kwargs) -> keras.Model:
    return keras.applications.ResNet50(weights=None, input_shape=SMALL, **kwargs)


def _np(x) -> np.ndarray:
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _weights(model: keras.Model) -> list[np.ndarray]:
    return [_np(v) for v in model.weights]


def _weights_equal(a: keras.Model, b: keras.Model) -> bool:
    wa, wb = _weights(a), _weights(b)
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def _outputs(model: keras.Model, seed: int = 1, batch: int = 2) -> np.ndarray:
    shape = (batch, *model.input_shape[1:])
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    return _np(model(x, training=False))


def _tiny(prefix: str, extra_weightless: bool = False, eps: float = 1e-3) -> keras.Model:
    inputs = keras.Input((8, 8, 3), name=f"{prefix}in")
    x = keras.layers.Conv2D(4, 3, name=f"{prefix}conv")(inputs)
    x = keras.layers.BatchNormalization(epsilon=eps, name=f"{prefix}bn")(x)
    x = keras.layers.ReLU(name=f"{prefix}relu")(x)
    if extra_weightless:
        x = keras.layers.Dropout(0.5, name=f"{prefix}drop")(x)
    x = keras.layers.GlobalAveragePooling2D(name=f"{prefix}gap")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name=f"{prefix}fc")(x)
    return keras.Model(inputs, outputs, name=f"{prefix}model")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Randomised keras.applications ResNet50 (64x64) and its legacy file."""
    model = _resnet50()
    randomize_weights(model, seed=0)
    path = tmp_path_factory.mktemp("ref") / "resnet50.h5"
    write_legacy_h5(model, path)
    return model, path


# -- randomize_weights ------------------------------------------------------


def test_randomize_is_seeded_and_ignores_layer_names():
    a, b = _tiny("a_"), _tiny("b_", extra_weightless=True)
    randomize_weights(a, seed=3)
    randomize_weights(b, seed=3)
    assert [l.name for l in a.layers] != [l.name for l in b.layers]
    assert _weights_equal(a, b)
    randomize_weights(b, seed=4)
    assert not any(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(b)))


def test_randomize_values_are_sane(reference):
    model, _ = reference
    bn = model.get_layer("conv1_bn")
    for v in (bn.gamma, bn.moving_variance):
        assert 0.5 <= float(np.min(v)) and float(np.max(v)) <= 1.5
    assert np.all(_np(model.get_layer("conv1_conv").bias) != 0)
    kernel = _np(model.get_layer("conv2_block1_1_conv").kernel)  # fan_in 64
    assert abs(kernel.std() - 1 / 8) < 0.01
    y = _outputs(model)
    assert np.all(np.isfinite(y)) and max_rel_error(y[0], y[1]) > 1e-2


# -- legacy h5 layout -------------------------------------------------------


def test_legacy_h5_layout(reference):
    model, path = reference
    with h5py.File(path, "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == [l.name for l in model.layers]
        assert f.attrs["backend"] == b"tensorflow"
        assert f.attrs["keras_version"] == keras.__version__.encode()
        assert "top_level_model_weights" not in f
        assert list(f["conv1_conv"].attrs["weight_names"]) == [
            b"conv1_conv/kernel:0",
            b"conv1_conv/bias:0",
        ]
        assert [n.decode().split("/")[-1] for n in f["conv1_bn"].attrs["weight_names"]] == [
            "gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"
        ]
        assert len(f["pool1_pad"].attrs["weight_names"]) == 0
        np.testing.assert_array_equal(
            f["conv1_conv/conv1_conv/kernel:0"][()],
            _np(model.get_layer("conv1_conv").kernel),
        )


def test_long_string_attributes_are_chunked_as_keras_reads_them(tmp_path):
    from keras.src.legacy.saving.legacy_h5_format import load_attributes_from_hdf5_group

    from .reference import _write_string_list

    names = [f"layer_{i:05d}_{'x' * 30}".encode() for i in range(3000)]  # ~120 kB
    with h5py.File(tmp_path / "chunks.h5", "w") as f:
        _write_string_list(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names1" in f.attrs
        assert load_attributes_from_hdf5_group(f, "layer_names") == [n.decode() for n in names]


def test_rejects_paths_keras3_would_not_read_as_legacy(tmp_path):
    with pytest.raises(ValueError, match="weights.h5"):
        write_legacy_h5(_tiny("t_"), tmp_path / "x.weights.h5")


# -- loading ----------------------------------------------------------------


def test_roundtrip_by_order_and_by_name(reference):
    ref, path = reference
    by_order, by_name = _resnet50(), _resnet50()
    assert max_rel_error(_outputs(by_order), _outputs(ref)) > 1e-3  # not vacuous
    load_by_order(by_order, path)
    load_by_name(by_name, path)
    for model in (by_order, by_name):
        assert _weights_equal(model, ref)
        assert_same_outputs(model, ref, seed=1)


def test_by_order_follows_file_order_by_name_follows_names(reference, tmp_path):
    ref, path = reference
    swapped = tmp_path / "swapped.h5"
    shutil.copy(path, swapped)
    a, b = "conv2_block2_1_conv", "conv2_block3_1_conv"  # both (1, 1, 256, 64)
    with h5py.File(swapped, "r+") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        i, j = names.index(a), names.index(b)
        names[i], names[j] = names[j], names[i]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])

    by_order = _resnet50()
    load_by_order(by_order, swapped)
    np.testing.assert_array_equal(
        _np(by_order.get_layer(a).kernel), _np(ref.get_layer(b).kernel)
    )
    with pytest.raises(AssertionError, match="outputs differ"):
        assert_same_outputs(by_order, ref, seed=1)

    by_name = _resnet50()
    load_by_name(by_name, swapped)
    assert _weights_equal(by_name, ref)


def test_by_order_layer_count_mismatch_raises(reference):
    _, path = reference
    with pytest.raises(ValueError, match="Layer count mismatch"):
        load_by_order(_resnet50(include_top=False), path)


def test_by_name_skips_unmatched_and_checks_shapes(reference):
    ref, path = reference
    notop = _resnet50(include_top=False)
    load_by_name(notop, path)  # file layer "predictions" is silently ignored
    assert all(
        np.array_equal(_np(w), _np(ref.get_layer(l.name).weights[k]))
        for l in notop.layers
        for k, w in enumerate(l.weights)
    )

    ten = _resnet50(classes=10)
    before = _np(ten.get_layer("predictions").kernel)
    with pytest.raises(ValueError, match="Shape mismatch"):
        load_by_name(ten, path)
    with pytest.warns(UserWarning, match="Skipping loading"):
        load_by_name(ten, path, skip_mismatch=True)
    np.testing.assert_array_equal(_np(ten.get_layer("predictions").kernel), before)
    np.testing.assert_array_equal(
        _np(ten.get_layer("conv5_block3_3_bn").gamma),
        _np(ref.get_layer("conv5_block3_3_bn").gamma),
    )


# -- output comparison ------------------------------------------------------


def test_max_rel_error():
    b = np.array([1.0, 1e-12, -2.0])
    assert max_rel_error(b, b) == 0.0
    assert max_rel_error(b + [0, 1e-9, 0], b) == pytest.approx(5e-10)  # no blow-up near 0
    assert max_rel_error([b, 2 * b], [b, b]) == pytest.approx(1.0)
    assert max_rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert max_rel_error(np.array([np.nan, 0, 0]), b) == float("inf")
    with pytest.raises(ValueError):
        max_rel_error(np.zeros(2), np.zeros(3))


def test_assert_same_outputs_catches_bn_epsilon():
    a, b = _tiny("e1_", eps=1e-3), _tiny("e2_", eps=1.001e-5)
    randomize_weights(a, seed=0)
    randomize_weights(b, seed=0)
    with final_softmax_as_linear(a, b), pytest.raises(AssertionError, match="outputs differ"):
        assert_same_outputs(a, b, seed=1)


def test_saturated_softmax_is_vacuous_unless_compared_as_logits():
    a, b = _tiny("s1_"), _tiny("s2_")
    for model in (a, b):
        randomize_weights(model, seed=0)
        model.layers[-1].bias.assign([40.0, 0, 0, 0, 0])  # softmax is one-hot
    conv_bias = b.get_layer("s2_conv").bias
    conv_bias.assign(_np(conv_bias) + 1e-2)  # a real difference
    with pytest.raises(AssertionError, match="vacuous"):
        assert_same_outputs(b, a, seed=1)
    with final_softmax_as_linear(a, b), pytest.raises(AssertionError, match="outputs differ"):
        assert_same_outputs(b, a, seed=1)
    assert b.layers[-1].activation is keras.activations.softmax  # restored
    with pytest.raises(ValueError, match="softmax"):
        with final_softmax_as_linear(_resnet50(include_top=False)):
            pass


# -- keras_applications 1.0.8 ----------------------------------------------


def _legacy_resnet50_weighted_names() -> list[str]:
    names = ["conv1", "bn_conv1"]
    for stage, blocks in ((2, "abc"), (3, "abcd"), (4, "abcdef"), (5, "abc")):
        for block in blocks:
            base = f"{stage}{block}_branch"
            names += [f"res{base}2a", f"bn{base}2a", f"res{base}2b", f"bn{base}2b"]
            if block == "a":  # Keras orders layers by graph depth, as Keras 2 did
                names += [f"res{base}2c", f"res{base}1", f"bn{base}2c", f"bn{base}1"]
            else:
                names += [f"res{base}2c", f"bn{base}2c"]
    return names + ["fc1000"]


def test_legacy_resnet50_names_and_counts(tmp_path):
    model = legacy_resnet50(input_shape=SMALL)
    weighted = [l.name for l in model.layers if l.weights]
    assert len(model.layers) == 177
    assert weighted == _legacy_resnet50_weighted_names() and len(weighted) == 107
    assert model.count_params() == 25_636_712
    assert model.get_layer("bn_conv1").epsilon == 1e-3

    randomize_weights(model, seed=0)
    write_legacy_h5(model, tmp_path / "legacy.h5")
    copy = legacy_resnet50(input_shape=SMALL)
    load_by_name(copy, tmp_path / "legacy.h5")
    assert _weights_equal(copy, model)
    assert_same_outputs(copy, model, seed=1)


def test_legacy_resnet50_order_differs_from_keras_applications(reference):
    # Same-depth shortcut/branch layers come in the opposite order.  In stage 2
    # both kernels are (1, 1, 64, 256), so they would be swapped silently;
    # stage 3 pairs (1, 1, 128, 512) with (1, 1, 256, 512) and fails.
    _, path = reference
    with pytest.raises(ValueError, match=r"Shape mismatch in layer #26 \(named res3a_branch2c\)"):
        load_by_order(legacy_resnet50(input_shape=SMALL), path)


def test_legacy_submodules_supply_keras2_backend_functions():
    from keras_applications import mobilenet_v2  # needs backend.int_shape

    model = mobilenet_v2.MobileNetV2(weights=None, input_shape=SMALL, **legacy_submodules())
    assert model.count_params() == 3_538_984

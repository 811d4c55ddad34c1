"""``build(weights=f)`` skips random initialisation of kernels the file overwrites: same weights, same config."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

keras = pytest.importorskip("keras")

import archspec  # noqa: E402


def test_build_with_weights_matches_build_then_load(tmp_path) -> None:
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    source = archspec.build("resnet18", input_shape=(32, 32, 3))
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as fh:
        save_weights_to_hdf5_group(fh, source)

    fast = archspec.build("resnet18", weights=path, input_shape=(32, 32, 3))
    slow = archspec.build("resnet18", input_shape=(32, 32, 3))
    slow.load_weights(str(path))

    for a, b, c in zip(fast.weights, slow.weights, source.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert fast.get_config() == slow.get_config()
    conv = next(layer for layer in fast.layers if isinstance(layer, keras.layers.Conv2D))
    assert type(conv.kernel_initializer).__name__ == "GlorotUniform"

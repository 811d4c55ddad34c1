"""Every bundled spec saves to .keras and loads back in a fresh process that only imports archspec."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import archspec
from archspec.lang.sources import bundled_names

SMALL = {"inception_resnet_v2": (75, 75, 3), "inception_resnet_v1": (80, 80, 3)}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Build each zoo model once (small inputs), save it, and record a reference output."""
    out = tmp_path_factory.mktemp("keras")
    rows = {}
    for name in bundled_names():
        shape = SMALL.get(name, (64, 64, 3))
        model = archspec.build(name, input_shape=shape)
        x = np.random.default_rng(0).normal(size=(1, *shape)).astype("float32")
        path = out / f"{name}.keras"
        model.save(path)
        np.save(out / f"{name}.npy", x)
        rows[name] = (str(path), np.asarray(model(x, training=False)), len(model.layers))
    return out, rows


def test_bundled_zoo_is_complete():
    expected = {"resnet50", "resnet101", "resnet152", "resnet50_legacy", "resnet18", "resnet34", "resnet50v2",
                "resnet101v2", "resnet152v2", "densenet121", "densenet169", "densenet201", "inception_resnet_v1",
                "inception_resnet_v2"}
    assert expected <= set(bundled_names())


def test_models_load_back_with_only_archspec_imported(saved):
    out, rows = saved
    script = (
        "import json, sys, numpy as np\n"
        "import archspec\n"  # registers ScaledAdd via the import hook, before Keras is imported
        "import keras\n"
        "res = {}\n"
        "for name, path in json.loads(sys.argv[1]).items():\n"
        "    m = keras.models.load_model(path)\n"
        "    x = np.load(path.replace('.keras', '.npy'))\n"
        "    res[name] = [len(m.layers), np.asarray(m(x, training=False)).tolist()]\n"
        "print(json.dumps(res))\n"
    )
    paths = {name: row[0] for name, row in rows.items()}
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(paths)], capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (_, expected, n_layers) in rows.items():
        got_layers, got = loaded[name]
        assert got_layers == n_layers, name
        assert np.allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6), name


def test_scaled_add_is_registered_and_serializable():
    from archspec.backend.layers import ScaledAdd

    layer = ScaledAdd(0.17, name="block35_1")
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, ScaledAdd) and clone.scale == pytest.approx(0.17) and clone.name == "block35_1"
    x, up = np.ones((1, 2, 2, 3), "float32"), np.full((1, 2, 2, 3), 2.0, "float32")
    assert np.allclose(np.asarray(layer([x, up])), 1.0 + 0.17 * 2.0)

"""Every bundled spec saves to .keras and loads back in a fresh process that imports only Keras."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import archspec
from archspec.lang.sources import bundled_names
from tests.support.application_layers import APPLICATION_LAYERS_SPEC
from tests.support.families import family_representatives
from tests.support.sizes import accepted_size

# the rest at 75x75, the smallest size every classifier accepts, or the multiple of their `input_multiple`
# below it (64 for the dense-prediction specs, whose decoders merge upsampled maps with the encoder's)
SMALL = {"inception_resnet_v1": (80, 80, 3)}


def _small(name: str) -> tuple[int, int, int]:
    return SMALL.get(name) or accepted_size(name, 75)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Build each family's representative once (small inputs), save it, and record a reference output.

    The fresh processes that load the files start first and take each file as soon as it is written (the
    ``.keras`` name appears last, by rename), so loading runs on the second core while this one builds."""
    out = tmp_path_factory.mktemp("keras")
    names = sorted(set(family_representatives(_small).values()))
    spec_file = out / "application_layers.yaml"
    spec_file.write_text(APPLICATION_LAYERS_SPEC)
    paths = {name: str(out / f"{name}.keras") for name in [*names, "application_layers"]}
    loaders = {order: _start_loader({n: p for n, p in paths.items() if order == "keras_only" or n == "application_layers"},
                                    first) for order, first in ORDERS.items()}
    rows = {}
    try:
        for name in [*names, "application_layers"]:
            shape = (8, 8, 3) if name == "application_layers" else _small(name)
            model = archspec.build(spec_file if name == "application_layers" else name, input_shape=shape)
            x = np.random.default_rng(0).normal(size=(1, *shape)).astype("float32")
            np.save(out / f"{name}.npy", x)
            model.save(out / f"{name}.partial.keras")
            os.replace(out / f"{name}.partial.keras", paths[name])
            rows[name] = (paths[name], flat(model(x, training=False)), len(model.layers))
    except BaseException:
        for proc in loaders.values():  # they would wait for files that never come
            proc.kill()
        raise
    return rows, {order: _finish(proc) for order, proc in loaders.items()}


def test_every_family_is_represented(saved):
    rows, _ = saved
    assert set(family_representatives(_small).values()) == set(rows) - {"application_layers"}
    assert {"resnet18", "resnet50", "inception_resnet_v2", "densenet121", "vgg16", "mobilenet_v2",
            "efficientnet_b0", "xception", "inception_v3", "nasnet_mobile", "convnext_tiny"} <= set(rows)


def test_bundled_zoo_is_complete():
    expected = {"resnet50", "resnet101", "resnet152", "resnet50_legacy", "resnet18", "resnet34", "resnet50v2",
                "resnet101v2", "resnet152v2", "densenet121", "densenet169", "densenet201", "inception_resnet_v1",
                "inception_resnet_v2", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
                "convnext_xlarge"}
    assert expected <= set(bundled_names())


def flat(y) -> np.ndarray:
    """A model's output as one flat array: a network with named outputs returns a dict (taken in name order)."""
    parts = [y[k] for k in sorted(y)] if isinstance(y, dict) else [y]
    return np.concatenate([np.asarray(p).ravel() for p in parts])


_LOAD = (
    "import json, os, sys, time, numpy as np\n"
    + inspect.getsource(flat).replace("{", "{{").replace("}", "}}") +
    "{first}"
    "import keras\n"
    "res = {{}}\n"
    "for name, path in json.loads(sys.argv[1]).items():\n"
    "    deadline = time.monotonic() + 900\n"
    "    while not os.path.exists(path) and time.monotonic() < deadline:\n"
    "        time.sleep(0.1)\n"
    "    m = keras.models.load_model(path)\n"
    "    x = np.load(path.replace('.keras', '.npy'))\n"
    "    res[name] = [len(m.layers), flat(m(x, training=False)).tolist()]\n"
    "print(json.dumps(res))\n"
)
# a fresh process per import order; archspec's models need no custom objects, so not importing it works too
ORDERS = {"keras_only": "", "archspec_first": "import archspec\nimport tensorflow\n",
          "tensorflow_first": "import tensorflow\nimport archspec\n"}


def _start_loader(paths: dict, first: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _LOAD.format(first=first), json.dumps(paths)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _finish(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-2000:]
    return json.loads(stdout.strip().splitlines()[-1])


def test_models_load_back_in_a_fresh_process(saved):
    rows, loaded = saved
    for name, (_, expected, n_layers) in rows.items():
        got_layers, got = loaded["keras_only"][name]
        assert got_layers == n_layers, name
        assert np.allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6), name


@pytest.mark.parametrize("order", ["archspec_first", "tensorflow_first"])
def test_application_layers_load_whatever_the_import_order(saved, order):
    """keras.applications' layer classes that archspec emits are found when TensorFlow or archspec is
    imported before Keras, as when only Keras is."""
    rows, loaded = saved
    _, expected, n_layers = rows["application_layers"]
    got_layers, got = loaded[order]["application_layers"]
    assert got_layers == n_layers
    assert np.allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6)

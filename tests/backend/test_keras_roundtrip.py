"""Every bundled spec saves to .keras and loads back in a fresh process that imports only Keras."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import archspec
from archspec.lang.sources import bundled_names

SMALL = {"inception_resnet_v1": (80, 80, 3)}  # the rest at 75x75, the smallest size every family accepts


def _families() -> dict[str, str]:
    """Each bundled spec -> the lightest spec built from the same templates (its family's representative).

    Specs of one family differ only in repeat counts and widths, so one save/load per family covers
    every layer class and config the family emits, at a fraction of the suite's time.
    """
    graphs = {name: archspec.api.layer_graph(name, input_shape=SMALL.get(name, (75, 75, 3))) for name in bundled_names()}
    templates = {name: frozenset(archspec.load_spec(name).data.get("templates", {})) for name in graphs}
    params = {name: sum(layer.params for layer in graph) for name, graph in graphs.items()}
    return {name: min((n for n in graphs if templates[n] == templates[name]), key=lambda n: (params[n], n))
            for name in graphs}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Build each family's representative once (small inputs), save it, and record a reference output."""
    out = tmp_path_factory.mktemp("keras")
    rows = {}
    for name in sorted(set(_families().values())):
        shape = SMALL.get(name, (75, 75, 3))
        model = archspec.build(name, input_shape=shape)
        x = np.random.default_rng(0).normal(size=(1, *shape)).astype("float32")
        path = out / f"{name}.keras"
        model.save(path)
        np.save(out / f"{name}.npy", x)
        rows[name] = (str(path), np.asarray(model(x, training=False)), len(model.layers))
    return out, rows


def test_every_family_is_represented(saved):
    _, rows = saved
    assert set(_families().values()) == set(rows)
    assert {"resnet18", "resnet50", "inception_resnet_v2", "densenet121", "vgg16", "mobilenet_v2",
            "efficientnet_b0", "xception", "inception_v3", "nasnet_mobile", "convnext_tiny"} <= set(rows)


def test_bundled_zoo_is_complete():
    expected = {"resnet50", "resnet101", "resnet152", "resnet50_legacy", "resnet18", "resnet34", "resnet50v2",
                "resnet101v2", "resnet152v2", "densenet121", "densenet169", "densenet201", "inception_resnet_v1",
                "inception_resnet_v2", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
                "convnext_xlarge"}
    assert expected <= set(bundled_names())


_LOAD = (
    "import json, sys, numpy as np\n"
    "{first}"
    "import keras\n"
    "res = {{}}\n"
    "for name, path in json.loads(sys.argv[1]).items():\n"
    "    m = keras.models.load_model(path)\n"
    "    x = np.load(path.replace('.keras', '.npy'))\n"
    "    res[name] = [len(m.layers), np.asarray(m(x, training=False)).tolist()]\n"
    "print(json.dumps(res))\n"
)
# a fresh process per import order; archspec's models need no custom objects, so not importing it works too
ORDERS = {"keras_only": "", "archspec_first": "import archspec\nimport tensorflow\n",
          "tensorflow_first": "import tensorflow\nimport archspec\n"}


def _load_in_fresh_process(paths: dict, first: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _LOAD.format(first=first), json.dumps(paths)], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_models_load_back_in_a_fresh_process(saved):
    out, rows = saved
    loaded = _load_in_fresh_process({name: row[0] for name, row in rows.items()}, "")
    for name, (_, expected, n_layers) in rows.items():
        got_layers, got = loaded[name]
        assert got_layers == n_layers, name
        assert np.allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6), name


@pytest.mark.parametrize("order", ["archspec_first", "tensorflow_first"])
def test_the_scale_layer_model_loads_whatever_the_import_order(saved, order):
    """The Inception-ResNet scale layer is the only non-keras.layers class archspec emits."""
    _, rows = saved
    path, expected, _ = rows["inception_resnet_v2"]
    got = _load_in_fresh_process({"inception_resnet_v2": path}, ORDERS[order])["inception_resnet_v2"][1]
    assert np.allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6)

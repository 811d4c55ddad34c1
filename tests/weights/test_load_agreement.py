"""``check-weights`` and ``build`` reach the same verdict with the same options (both call
``archspec.weights.match.decide``): a new classifier keeps its initial weights with one warning, by order and
by name alike, and weights that cannot be read fail both with the same message."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest

import archspec
from archspec.backend.load import SkippedWeightsWarning
from tests.hostile.test_weight_readers import corrupt_chunk, legacy_h5
from tests.support.files import write

SPEC = """\
archspec: 1
name: small
input: [8, 8, 3]
stages:
  s1:
    body:
      - {op: conv2d, filters: 8, kernel_size: 3, name: conv}
      - {op: global_avg_pool, name: pool}
head:
  top:
    - {op: dense, units: classes, activation: classifier_activation, name: predictions}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The spec and a legacy file of its 1000-class model (conv from ``legacy_h5``, a random classifier)."""
    folder = tmp_path_factory.mktemp("agree")
    path = legacy_h5(folder / "w.h5")
    rng = np.random.default_rng(1)
    with h5py.File(path, "a") as f:
        f.attrs["layer_names"] = [b"conv", b"predictions"]
        g = f.create_group("predictions")
        g.attrs["weight_names"] = [b"predictions/kernel:0", b"predictions/bias:0"]
        g.create_dataset("predictions/kernel:0", data=rng.standard_normal((8, 1000)).astype("f4"))
        g.create_dataset("predictions/bias:0", data=np.zeros(1000, "f4"))
        kernel = f["conv/conv/kernel:0"][()]
    return {"spec": write(folder / "small.yaml", SPEC), "weights": path, "kernel": kernel}


def _build(files, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = archspec.build(files["spec"], weights=files["weights"], **options)
    notes = [str(w.message) for w in caught if issubclass(w.category, SkippedWeightsWarning)]
    return model, notes


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name_partial"])
def test_a_new_classifier_loads_the_rest_in_both_and_both_say_so(cli, files, by_name):
    flags = ["--by-name", "--allow-partial"] if by_name else []
    model, notes = _build(files, classes=10, by_name=by_name, allow_partial=by_name)
    code, out, err = cli("check-weights", files["spec"], files["weights"], "--classes", "10", *flags)
    assert code == 0, out + err
    assert len(notes) == 1 and "1 layer(s) keep their initial weights" in notes[0] and "predictions" in notes[0]
    assert out.rstrip().splitlines()[-1] == f"PARTIAL: loads by {'name' if by_name else 'order'}; " \
                                           + notes[0].split("; ", 1)[1], out
    assert np.array_equal(model.get_layer("conv").get_weights()[0], files["kernel"])
    assert model.output_shape == (None, 10)


def test_by_name_without_allow_partial_agrees_too(cli, files):
    # the new classifier is skipped by name as by order; nothing else is missing, so no --allow-partial is needed
    code, out, err = cli("check-weights", files["spec"], files["weights"], "--classes", "10", "--by-name")
    assert code == 0 and "PARTIAL: loads by name" in out, out + err
    _, notes = _build(files, classes=10, by_name=True)
    assert len(notes) == 1


def test_unreadable_weights_fail_both_with_one_message(cli, files, tmp_path):
    path = corrupt_chunk(legacy_h5(tmp_path / "w.h5", {"compression": "gzip", "chunks": (3, 3, 3, 8)}))
    spec = write(tmp_path / "tiny.yaml", SPEC.replace("head:", "x_head:").split("x_head:")[0])
    code, out, err = cli("check-weights", spec, path)
    assert code == 1 and "cannot be read" in err, out + err
    with pytest.raises(archspec.SpecError) as info:
        archspec.build(spec, weights=path)
    assert info.value.diagnostics[0].format() == err.strip()

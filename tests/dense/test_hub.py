"""keras-hub interop (archspec/hub.py): an archspec backbone inside keras-hub's DeepLabV3ImageSegmenter trains a
step, saves as .keras and reloads in a fresh process with the same predictions; RGB weights fit a four-channel
backbone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import archspec

from tests.support.paths import ROOT
from tests.test_doc_examples import doc_block


def test_deeplab_on_an_archspec_backbone_trains_saves_and_reloads(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(doc_block("docs/dense-prediction.md", "ArchspecBackbone("), "dense-prediction.md", "exec"),
         namespace)
    segmenter, x = namespace["segmenter"], namespace["images"]
    assert sorted(namespace["backbone"].pyramid_outputs) == ["P2", "P5"]
    assert np.isfinite(namespace["loss"]).all()
    before = segmenter.predict(x, verbose=0)
    assert before.shape == (2, 64, 64, 3)
    np.save(tmp_path / "x.npy", x)
    code = ("import numpy as np, keras, archspec.hub\n"
            "m = keras.saving.load_model('segmenter.keras')\n"
            "np.save('after.npy', m.predict(np.load('x.npy'), verbose=0))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert np.abs(np.load(tmp_path / "after.npy") - before).max() < 1e-5


def test_a_four_channel_backbone_takes_rgb_weights(tmp_path: Path) -> None:
    """timm's in_chans rule (docs/pytorch.md): the RGB filters repeated to four channels and scaled by 3/4."""
    from archspec.hub import ArchspecBackbone

    rgb = archspec.build("resnet18", include_top=False, input_shape=(64, 64, 3))
    rgb.save_weights(tmp_path / "rgb.weights.h5")
    backbone = ArchspecBackbone("resnet18", image_shape=(None, None, 4), weights=tmp_path / "rgb.weights.h5",
                                adapt_input_channels=True)
    stored, adapted = (np.asarray(next(w for w in m.weights if len(w.shape) == 4)) for m in (rgb, backbone))
    assert stored.shape[2] == 3 and adapted.shape[2] == 4
    assert np.allclose(adapted, np.concatenate([stored, stored[:, :, :1]], axis=2) * 3 / 4)
    assert backbone.get_config()["image_shape"] == [None, None, 4]
    assert sorted(backbone.pyramid_outputs) == ["P1", "P2", "P3", "P4", "P5"]

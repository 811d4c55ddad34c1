"""timm checkpoints (``checkpoint: timm``) load through the spec's declared keys: logits equal timm's.

Each timm model is built with ``pretrained=False`` (seeded random init, nothing downloaded); its batch-norm
running statistics are those of a real batch pushed through it in training mode, and its batch-norm affine
parameters are randomised, so a mis-mapped mean, variance, scale or shift changes the logits. In eval mode
its state_dict is saved as .safetensors (written with numpy), ``archspec.build(spec, weights=file)`` converts it, and the
Keras logits are compared with timm's on the same images (NCHW for torch, NHWC for Keras).
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import timm
import torch

import archspec
from torch_reference import images, keras_logits, max_rel_error, save_safetensors, torch_logits

from tests.support.paths import ROOT

CASES = {  # spec: (timm model name, input size, pixels); state_dicts are saved as .safetensors, which
    "resnet50_timm": ("resnet50", 64, False),  # check-weights reads without torch or TensorFlow
    "convnext_tiny_timm": ("convnext_tiny", 64, False),
    # keras.applications' topology, whose stem divides [0, 255] pixels by 255 and normalizes them with a
    # Normalization layer that no timm tensor fills (left at mean 0, variance 1: --allow-partial); timm's
    # tf_ port takes the image that results, so Keras gets 255 * x where timm gets x
    "efficientnet_b0": ("tf_efficientnet_b0", 64, True),
    "efficientnet_b0_timm": ("efficientnet_b0", 64, False),
    "regnety_040_timm": ("regnety_040", 64, False),
}


def timm_reference(name: str, seed: int = 0) -> torch.nn.Module:
    """timm's ``name`` in eval mode: seeded random weights, batch-norm statistics from a real batch (one
    training-mode pass with cumulative averaging), batch-norm scales and shifts randomised."""
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
        model.train()(torch.from_numpy(images(8, 64, seed=7)))
    return model.eval()


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    """One reference per model: timm's logits on two images, its parameter counts, and the Keras model the
    spec builds from timm's saved state_dict."""
    spec = request.param
    name, size, pixels = CASES[spec]
    ref = timm_reference(name)
    x = images(2, size)
    logits = torch_logits(ref, x)
    trainable = sum(p.numel() for p in ref.parameters())
    total = trainable + sum(b.numel() for k, b in ref.named_buffers() if not k.endswith("num_batches_tracked"))
    folder = tmp_path_factory.mktemp(spec)
    file = save_safetensors(ref, folder / f"{spec}.safetensors")
    del ref
    gc.collect()
    model = archspec.build(spec, weights=file, input_shape=(size, size, 3), classifier_activation=None,
                           allow_partial=pixels)
    yield {"spec": spec, "x": x, "logits": logits, "trainable": trainable, "total": total, "model": model,
           "file": file, "pixels": pixels}
    del model
    gc.collect()


def test_timm_checkpoint_gives_timm_logits(case):
    assert not np.allclose(case["logits"][0], case["logits"][1], rtol=1e-2), "the two images give one output"
    x = case["x"] * 255 if case["pixels"] else case["x"]
    assert max_rel_error(keras_logits(case["model"], x), case["logits"]) < 1e-4


def test_parameters_equal_timms(case):
    model = case["model"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == case["trainable"]
    normalization = 7 if case["pixels"] else 0  # its mean and variance (3 each) and count: no timm tensor
    assert model.count_params() == case["total"] + normalization


def test_check_weights_reads_a_timm_safetensors_without_torch_or_tensorflow(case):
    script = textwrap.dedent(f"""
        import sys
        from archspec.cli import main
        code = main(["check-weights", {case["spec"]!r}, {str(case["file"])!r}])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "torch", "jax"))
        print("CODE", code, "HEAVY", heavy, file=sys.stderr)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert "maps timm keys" in proc.stdout
    if case["pixels"]:
        assert "CODE 1 HEAVY []" in proc.stderr, proc.stderr[-2000:]
        assert proc.stdout.count("unmapped: layer") == 1
        assert "unmapped: layer 'normalization' gets nothing" in proc.stdout
        assert "leftover: 0 tensors" in proc.stdout and "shape mismatches: 0" in proc.stdout
    else:
        assert "CODE 0 HEAVY []" in proc.stderr, proc.stderr[-2000:]
        assert "OK: the checkpoint fills every layer with weights" in proc.stdout


@pytest.mark.parametrize("spec, name", [("regnety_032_timm", "regnety_032")])
def test_a_member_without_an_output_comparison_has_timms_parameter_counts(spec, name):
    """regnety_040_timm's logits are compared above; the file it extends gets the graph-only count."""
    model = timm.create_model(name, pretrained=False)
    trainable = sum(p.numel() for p in model.parameters())
    total = trainable + sum(b.numel() for k, b in model.named_buffers() if not k.endswith("num_batches_tracked"))
    graph = archspec.api.layer_graph(spec)
    assert (sum(layer.trainable for layer in graph), sum(layer.params for layer in graph)) == (trainable, total)

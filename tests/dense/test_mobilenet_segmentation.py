"""torchvision's segmentation models on MobileNetV3-Large (issue 23) through their bundled specs.

deeplabv3_mobilenet_v3_large (aux_loss=True, as its published weights) and lraspp_mobilenet_v3_large: the
dilated backbone (dilated=True), the first block at stride 8 read by the aux head and by LR-ASPP's 'low'
branch (an 'at' entry's carry), and their heads. Parameter counts from the layer graph against the reference
built on the meta device, and the transfer plan of its state_dict's names and shapes (every layer filled,
every tensor used); outputs from a torch.save'd state_dict of a seeded reference whose batch-norm
statistics are those of a real batch (eval mode): relative error below 1e-4, and two images give different
outputs.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import torchvision

import archspec
from archspec.api import layer_graph
from archspec.weights.torch_plan import plan_transfer
from tests.torch.torch_reference import from_batch, images, max_rel_error, save_state_dict

S = torchvision.models.segmentation
REFERENCES = {  # spec: (constructor, its arguments, the outputs compared)
    "deeplabv3_mobilenet_v3_large": (S.deeplabv3_mobilenet_v3_large, {"aux_loss": True}, ("out", "aux")),
    "lraspp_mobilenet_v3_large": (S.lraspp_mobilenet_v3_large, {}, ("out",)),
}
# LR-ASPP at two sizes (72 is not a multiple of the output stride 16: its two levels are 9x9 and 5x5);
# DeepLabV3 (ASPP, image pooling, the aux head) on the same backbone at the odd one
CASES = [("deeplabv3_mobilenet_v3_large", 72), ("lraspp_mobilenet_v3_large", 64), ("lraspp_mobilenet_v3_large", 72)]


def _make(spec: str) -> torch.nn.Module:
    constructor, kwargs, _ = REFERENCES[spec]
    return constructor(weights=None, weights_backbone=None, **kwargs)


@pytest.mark.parametrize("spec", sorted(REFERENCES))
def test_parameter_counts_equal_torchvision(spec: str) -> None:
    with torch.device("meta"):
        ref = _make(spec)
    params = sum(p.numel() for p in ref.parameters())
    stats = sum(b.numel() for name, b in ref.named_buffers() if name.endswith(("running_mean", "running_var")))
    graph = layer_graph(spec)
    assert (sum(layer.trainable for layer in graph), sum(layer.params for layer in graph)) == (params, params + stats)
    plan = plan_transfer(graph, {name: tuple(t.shape) for name, t in ref.state_dict().items()}, f"{spec}.pth")
    assert plan.complete, (plan.unmapped[:3], plan.mismatched[:3], plan.leftover[:3])  # check-weights' verdict


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Callable[[str], tuple[torch.nn.Module, Path]]:
    """Each spec's calibrated reference and its state_dict written by torch.save, made once per module."""
    made: dict[str, tuple[torch.nn.Module, Path]] = {}

    def get(spec: str) -> tuple[torch.nn.Module, Path]:
        if spec not in made:
            ref = from_batch(lambda: _make(spec), images(8, 64, seed=7))
            made[spec] = ref, save_state_dict(ref, tmp_path_factory.mktemp(spec) / f"{spec}.pth")
        return made[spec]

    return get


@pytest.mark.parametrize("spec, size", CASES)
def test_outputs_equal_torchvision(reference, spec: str, size: int) -> None:
    ref, pth = reference(spec)
    x = images(2, size)
    with torch.no_grad():
        expected = {k: np.transpose(v.numpy(), (0, 2, 3, 1)) for k, v in ref(torch.from_numpy(x)).items()}
    model = archspec.build(spec, weights=pth, input_shape=(size, size, 3))
    got = model(np.transpose(x, (0, 2, 3, 1)), training=False)
    assert sorted(got) == sorted(REFERENCES[spec][2]) == sorted(expected)
    for name, want in expected.items():
        assert want.shape == (2, size, size, 21)
        assert max_rel_error(want[0], want[1]) > 1e-2, "two images, two outputs"
        assert max_rel_error(np.asarray(got[name]), want) < 1e-4, name
    del model
    gc.collect()

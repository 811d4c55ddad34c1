"""torchvision families mapped through their specs' checkpoint keys (issue 24), cheaply:

- parameter counts (trainable, and total with the batch-norm statistics) of EVERY member, from the layer
  graph alone (no Keras), against torchvision's model built on the meta device (no memory, no init), and the
  transfer plan of its state_dict's names and shapes: every layer filled, every tensor used;
- logits of the smallest member of each family, from a torch.save'd state_dict of a seeded torchvision model
  whose batch-norm statistics are those of a real batch (train-mode pass with momentum 1) and whose affine
  parameters are random, in eval mode: rel < 1e-4, and two images give different logits.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

import numpy as np
import pytest
import torch
import torchvision

import archspec
from archspec.weights.torch_plan import plan_transfer
from torch_reference import from_batch, images, keras_logits, max_rel_error, save_state_dict, torch_logits

M = torchvision.models
FAMILIES = {  # family -> (spec, torchvision constructor) for every member; the first is the smallest
    "shufflenet_v2": [(f"shufflenet_v2_{w}", f"shufflenet_v2_{w}") for w in ("x0_5", "x1_0", "x1_5", "x2_0")],
    "squeezenet": [("squeezenet1_1", "squeezenet1_1"), ("squeezenet1_0", "squeezenet1_0")],
    "mnasnet": [(f"mnasnet{w}", f"mnasnet{w}") for w in ("0_5", "0_75", "1_0", "1_3")],
    "mobilenet_v3": [(f"mobilenet_v3_{s}_torch", f"mobilenet_v3_{s}") for s in ("small", "large")],
    "googlenet": [("googlenet", "googlenet")],
    "inception_v3": [("inception_v3_torch", "inception_v3")],
    "alexnet": [("alexnet", "alexnet")],
    # vgg11_bn first: its logits cover the batch-norm variant (test_torchvision.py has vgg16 and vgg19's)
    "vgg": [("vgg11_bn", "vgg11_bn"), ("vgg11", "vgg11"), ("vgg13", "vgg13"), ("vgg13_bn", "vgg13_bn"),
            ("vgg16_torch", "vgg16"), ("vgg16_bn", "vgg16_bn"), ("vgg19_torch", "vgg19"), ("vgg19_bn", "vgg19_bn")],
    "convnext": [(f"convnext_{s}_torch", f"convnext_{s}") for s in ("tiny", "small", "base", "large")],
    "regnet": [(n, n) for n in ("regnet_y_400mf", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf",
                                "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf", "regnet_y_800mf",
                                "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf",
                                "regnet_y_128gf")],
    # logits of every member in test_torchvision.py (but resnext101_64x4d: the same template as 32x8d)
    "resnet": [("resnet18", "resnet18"), ("resnet34", "resnet34"), ("resnet50_torch", "resnet50"),
               ("resnet101_torch", "resnet101"), ("resnet152_torch", "resnet152"),
               ("resnext50_32x4d", "resnext50_32x4d"), ("resnext101_32x8d", "resnext101_32x8d"),
               ("resnext101_64x4d", "resnext101_64x4d"), ("wide_resnet50_2", "wide_resnet50_2"),
               ("wide_resnet101_2", "wide_resnet101_2")],
    # likewise (densenet161: the same templates with a wider stem and growth)
    "densenet": [(f"densenet{n}_torch", f"densenet{n}") for n in (121, 161, 169, 201)],
    "efficientnet": [(f"efficientnet_b{n}_torch", f"efficientnet_b{n}") for n in range(8)],
    "efficientnet_v2": [(f"efficientnet_v2_{s}_torch", f"efficientnet_v2_{s}") for s in "sml"],
}
LOGITS_ELSEWHERE = {"resnet", "densenet"}
# constructor arguments: GoogLeNet and Inception-V3 as they compute at inference, without the auxiliary classifiers
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": True},
          "inception_v3": {"aux_logits": False, "init_weights": True}}
SIZES = {"inception_v3": 75}  # the smallest input the family takes; others 64
MEMBERS = [member for members in FAMILIES.values() for member in members]
# the member whose logits are compared: the smallest, at the smallest input the family takes
SMALLEST = {family: (*members[0], SIZES.get(family, 64)) for family, members in FAMILIES.items()
            if family not in LOGITS_ELSEWHERE}  # spec, constructor, input size


def _meta_model(constructor: str) -> torch.nn.Module:
    with _regnet_widths_on_cpu(), torch.device("meta"):
        return getattr(M, constructor)(**KWARGS.get(constructor, {}))


def _torch_counts(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) of torchvision's model; total adds the running mean and variance Keras stores."""
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    return trainable, trainable + stats


@contextlib.contextmanager
def _regnet_widths_on_cpu() -> Iterator[None]:
    """RegNet's constructors compute their block widths with tensors (``.tolist()``), which the meta device
    cannot: that computation runs on the CPU, the model's tensors stay on the meta device."""
    from torchvision.models import regnet

    original = regnet.BlockParams.from_init_params.__func__

    def on_cpu(cls, *args, **kwargs):
        with torch.device("cpu"):
            return original(cls, *args, **kwargs)

    regnet.BlockParams.from_init_params = classmethod(on_cpu)
    try:
        yield
    finally:
        regnet.BlockParams.from_init_params = classmethod(original)


@pytest.mark.parametrize("spec, constructor", MEMBERS, ids=[m[0] for m in MEMBERS])
def test_parameter_counts_equal_torchvisions(spec, constructor):
    graph = archspec.api.layer_graph(spec)
    ours = (sum(layer.trainable for layer in graph), sum(layer.params for layer in graph))
    model = _meta_model(constructor)
    assert ours == _torch_counts(model)
    plan = plan_transfer(graph, {name: tuple(t.shape) for name, t in model.state_dict().items()}, f"{constructor}.pth")
    assert plan.complete, (plan.unmapped[:3], plan.mismatched[:3], plan.leftover[:3])


def calibrated(constructor: str, x: np.ndarray, seed: int = 0) -> torch.nn.Module:
    """torchvision's ``constructor`` seeded, its batch-norm statistics those of the batch ``x``."""
    return from_batch(lambda: getattr(M, constructor)(**KWARGS.get(constructor, {})), x, seed)


@pytest.mark.parametrize("family", sorted(SMALLEST))
def test_smallest_member_gives_torchvisions_logits(family, tmp_path):
    spec, constructor, size = SMALLEST[family]
    x = images(2, size)
    ref = calibrated(constructor, images(8, size, seed=7))
    expected = torch_logits(ref, x)
    assert max_rel_error(expected[0], expected[1]) > 1e-2, "two images, two outputs"
    pth = save_state_dict(ref, tmp_path / f"{spec}.pth")
    del ref
    gc.collect()
    model = archspec.build(spec, weights=pth, input_shape=(size, size, 3), classifier_activation=None)
    assert max_rel_error(keras_logits(model, x), expected) < 1e-4

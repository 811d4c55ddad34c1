"""Every torchvision-topology spec loads a torchvision checkpoint: logits equal torchvision's.

For each spec, the torchvision model (seeded, batch-norm statistics randomised, eval mode) saves its
state_dict; ``archspec.build(spec, weights=the .pth)`` converts it through the spec's checkpoint keys and the
Keras logits are compared with the torch logits on the same images (NCHW for torch, NHWC for Keras). Inputs
are 64x64: the torchvision VGG specs pool to 7x7 before the flatten as torchvision does (adaptive_avg_pool).
"""

from __future__ import annotations

import gc

import pytest
import torchvision

import archspec
from torch_reference import (images, keras_logits, max_rel_error, reference, save_state_dict, torch_logits,
                                 trainable)

M = torchvision.models
CASES = [  # spec, torchvision constructor, input size
    ("resnet18", M.resnet18, 64),
    ("resnet34", M.resnet34, 64),
    ("resnet50_torch", M.resnet50, 64),
    ("resnet101_torch", M.resnet101, 64),
    ("resnet152_torch", M.resnet152, 64),
    ("resnext50_32x4d", M.resnext50_32x4d, 64),
    ("resnext101_32x8d", M.resnext101_32x8d, 64),
    ("wide_resnet50_2", M.wide_resnet50_2, 64),
    ("wide_resnet101_2", M.wide_resnet101_2, 64),
    ("densenet121_torch", M.densenet121, 64),
    ("densenet169_torch", M.densenet169, 64),
    ("densenet201_torch", M.densenet201, 64),
    ("vgg16_torch", M.vgg16, 64),
    ("vgg19_torch", M.vgg19, 64),
    ("mobilenet_v2_torch", M.mobilenet_v2, 64),
]


@pytest.mark.parametrize("spec, constructor, size", CASES, ids=[c[0] for c in CASES])
def test_torchvision_checkpoint_gives_torchvision_logits(spec, constructor, size, tmp_path):
    ref = reference(constructor)
    x = images(1 if size == 224 else 2, size)
    expected = torch_logits(ref, x)
    pth = save_state_dict(ref, tmp_path / f"{spec}.pth")
    params = trainable(ref)
    del ref
    gc.collect()
    model = archspec.build(spec, weights=pth, input_shape=(size, size, 3), classifier_activation=None)
    assert sum(int(w.numpy().size) for w in model.trainable_weights) == params
    assert max_rel_error(keras_logits(model, x), expected) < 1e-4

"""`layer_norm` takes a PyTorch nn.LayerNorm's `weight`/`bias` (its OpDef.torch layout): the normalization over
each position's channels that torchvision's ConvNeXt applies channels-last. The reference is a small torch.nn
module with seeded, random affine parameters (1 and 0, nn.LayerNorm's initial values, would hide a swap)."""

from __future__ import annotations

import torch
from torch import nn

import archspec
from torch_reference import images, keras_logits, max_rel_error, save_state_dict, torch_logits

SPEC = """\
archspec: 1
name: layer_norm_torch
input: [8, 8, 3]
checkpoint: torchvision
stages:
  s:
    body:
      - {op: conv2d, filters: 8, kernel_size: 3, padding: same, name: stem, checkpoint: stem}
      - {op: layer_norm, epsilon: 1.0e-6, name: norm, checkpoint: norm}
      - {op: global_avg_pool, name: pool}
      - {op: dense, units: 5, name: fc, checkpoint: fc}
"""


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.stem(x).permute(0, 2, 3, 1))  # channels-last, as torchvision's LayerNorm2d
        return self.fc(x.mean((1, 2)))


def test_layer_norm_loads_from_a_torch_checkpoint(tmp_path, cli):
    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.norm.weight.uniform_(0.5, 1.5)
        net.norm.bias.uniform_(-0.5, 0.5)
    spec = tmp_path / "layer_norm_torch.yaml"
    spec.write_text(SPEC)
    pth = save_state_dict(net, tmp_path / "net.pth")
    x = images(2, 8)
    want = torch_logits(net, x)
    assert max_rel_error(want[0], want[1]) > 1e-2
    error = max_rel_error(keras_logits(archspec.build(spec, weights=pth), x), want)
    assert error < 1e-4, error
    code, out, _ = cli("check-weights", spec, pth)
    assert code == 0
    assert "leftover: 0 tensors" in out

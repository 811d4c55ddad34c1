"""`layer_scale` takes torchvision ConvNeXt's per-block parameter `layer_scale` of shape (C, 1, 1): the step's
checkpoint key names the tensor itself (a parameter of the block, not of a submodule)."""

from __future__ import annotations

import sys

sys.modules.setdefault("triton", None)  # see tests/torch/conftest.py

import numpy as np  # noqa: E402
import torch  # noqa: E402

import archspec  # noqa: E402

SPEC = """\
archspec: 1
name: layer_scale_torch
input: [5, 6, 3]
checkpoint: torchvision
stages:
  s:
    body:
      - {op: conv2d, filters: 4, kernel_size: 1, name: conv, checkpoint: "block.conv"}
      - {op: layer_scale, init_values: 1e-6, projection_dim: 4, checkpoint: "block.layer_scale"}
"""


class Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.layer_scale = torch.nn.Parameter(torch.rand(4, 1, 1) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * self.conv(x)


def test_layer_scale_loads_torchvisions_parameter(tmp_path, cli):
    torch.manual_seed(0)
    net = torch.nn.Module()
    net.block = Block()
    torch.save(net.state_dict(), tmp_path / "net.pth")
    (tmp_path / "s.yaml").write_text(SPEC)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype("float32")
    with torch.no_grad():
        want = net.block(torch.from_numpy(x)).numpy().transpose(0, 2, 3, 1)
    ours = np.asarray(archspec.build(tmp_path / "s.yaml", weights=tmp_path / "net.pth")(x.transpose(0, 2, 3, 1)))
    assert float(np.abs(ours - want).max() / np.abs(want).max()) < 1e-5
    code, out, _ = cli("check-weights", tmp_path / "s.yaml", tmp_path / "net.pth")
    assert code == 0
    assert "leftover: 0 tensors" in out

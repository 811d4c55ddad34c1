"""A dense layer that reads a flattened map through weightless layers (torchvision's ``Flatten -> Dropout ->
Linear``, AlexNet's classifier order) gets its kernel rows reordered from PyTorch's channels-first features, as
one fed by the flatten directly does; a batch norm over flattened features gets its vectors reordered too. A
flattened map reaching a dense layer through a layer that moves features is refused at the spec line."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import archspec
from archspec.errors import SpecError
from torch_reference import images, keras_logits, max_rel_error, save_state_dict, torch_logits

SPEC = """\
archspec: 1
name: flatten_order
input: [6, 6, 3]
checkpoint: torchvision
stages:
  s:
    body:
      - {op: conv2d, filters: 4, kernel_size: 3, padding: same, activation: relu, name: conv, checkpoint: features.0}
head:
  top:
    - {op: flatten, name: flatten}
    - {op: dropout, rate: 0.5, name: drop}
    - {op: activation, activation: relu, name: act}
    - {op: batch_norm, epsilon: 1.0e-5, name: norm, checkpoint: classifier.2}
    - {op: dense, units: 5, name: predictions, checkpoint: classifier.3}
"""


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.ReLU(), nn.BatchNorm1d(4 * 6 * 6), nn.Linear(4 * 6 * 6, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flatten")
    torch.manual_seed(0)
    model = Net().eval()
    with torch.no_grad():  # nn.BatchNorm1d starts at 0/1, which would hide an unordered vector
        norm = model.classifier[2]
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2.0)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    spec = folder / "flatten_order.yaml"
    spec.write_text(SPEC)
    return {"model": model, "spec": spec, "pth": save_state_dict(model, folder / "net.pth"), "folder": folder}


def test_flatten_dropout_linear_loads_in_torch_order(net, cli):
    x = images(2, 6)
    want = torch_logits(net["model"], x)
    assert max_rel_error(want[0], want[1]) > 1e-2
    error = max_rel_error(keras_logits(archspec.build(net["spec"], weights=net["pth"]), x), want)
    assert error < 1e-4, error
    code, out, _ = cli("check-weights", net["spec"], net["pth"])
    assert code == 0
    assert "reordered from channels-first features" in out and "norm, predictions" in out, out


def test_a_flatten_reaching_a_dense_through_a_concatenation_is_refused(net):
    spec = net["folder"] / "concat.yaml"
    spec.write_text(SPEC.replace("name: flatten}", "name: flatten, as: flat}").replace("name: act}", "name: act, as: act}")
                    .replace("    - {op: batch_norm", "    - {op: concat, in: [act, flat], name: both}\n    - {op: batch_norm"))
    with pytest.raises(SpecError, match="reads the features of flatten 'flatten' through layer 'both'") as info:
        archspec.build(spec, weights=net["pth"])
    assert info.value.diagnostics[0].location.file == str(spec)

"""A PyTorch checkpoint whose modules fill the members of nested layers (``sequential:`` steps).

Why: a nested layer is ONE entry of ``model.layers`` (a keras.Sequential) owning its members' weights, while
each member's step names its own checkpoint key. The conversion must write those weights where Keras's own
``model.load_weights`` looks for them: in a Keras 3 ``.weights.h5`` under the nested model's
``layers/<class>_<k>/vars``, in a legacy ``.h5`` as one list per nested layer (trainable weights first). The
reference is a small ``torch.nn`` module with the same topology (two ``nn.Sequential``), seeded, batch-norm
statistics randomised, eval mode; every expected value comes from it or from Keras's own ``save_weights``.

Cost: a few 8x8 models of ~5k parameters.
"""

from __future__ import annotations

import json

import h5py
import keras
import numpy as np
import pytest
import torch
from torch import nn

import archspec
from archspec.backend.load import SkippedWeightsWarning
from torch_reference import images, keras_logits, max_rel_error, reference, save_state_dict, torch_logits

SPEC = """\
archspec: 1
name: nested_torch
input: [8, 8, 3]
checkpoint: torchvision
defaults:
  batch_norm: {epsilon: 1.0e-5}
stages:
  s:
    body:
      - {op: conv2d, filters: 8, kernel_size: 3, padding: same, use_bias: false, name: stem, checkpoint: stem}
      - sequential:
          - {op: conv2d, filters: 8, kernel_size: 3, padding: same, name: block_conv1, checkpoint: block.0}
          - {op: batch_norm, name: block_bn1, checkpoint: block.1}
          - {op: activation, activation: relu, name: block_relu}
          - {op: conv2d, filters: 16, kernel_size: 1, use_bias: false, name: block_conv2, checkpoint: block.3}
          - {op: batch_norm, name: block_bn2, checkpoint: block.4}
        name: block
      - sequential:
          - {op: batch_norm, name: down_bn, checkpoint: down.0}
          - {op: conv2d, filters: 16, kernel_size: 2, strides: 2, name: down_conv, checkpoint: down.1}
        name: down
      - {op: global_avg_pool, name: pool}
      - {op: dense, units: 10, name: fc, checkpoint: fc}
"""


class Net(nn.Module):
    """The spec's network in PyTorch: the nested layers are nn.Sequential modules (keys block.0, down.1, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                   nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.down = nn.Sequential(nn.BatchNorm2d(16), nn.Conv2d(16, 16, 2, stride=2))
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.down(self.block(self.stem(x))).mean((2, 3)))


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """The spec file, the torch module's state_dict as .pth, two images and the module's outputs for them."""
    folder = tmp_path_factory.mktemp("nested")
    spec = folder / "nested_torch.yaml"
    spec.write_text(SPEC)
    model = reference(Net)
    x = images(2, 8)
    out = torch_logits(model, x)
    assert max_rel_error(out[0], out[1]) > 1e-2  # the outputs tell the two images apart
    return {"spec": spec, "pth": save_state_dict(model, folder / "net.pth"), "x": x, "out": out,
            "state": model.state_dict(), "modules": len({k.rpartition(".")[0] for k, _ in model.named_parameters()})}


def test_build_with_the_checkpoint_computes_the_torch_module(net):
    model = archspec.build(net["spec"], weights=net["pth"])
    assert [layer.name for layer in model.layers] == ["input_layer", "stem", "block", "down", "pool", "fc"]
    error = max_rel_error(keras_logits(model, net["x"]), net["out"])
    assert error < 1e-4, error
    print(f"build(weights=.pth): max relative error {error:.3g}")


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_convert_writes_files_keras_loads_by_itself(net, tmp_path, cli, suffix):
    out = tmp_path / f"net{suffix}"
    code, printed, _ = cli("convert", net["spec"], net["pth"], "-o", out)
    assert code == 0
    assert f"wrote {out}: {net['modules']} layers with weights" in printed
    model = archspec.build(net["spec"])
    model.load_weights(out)  # Keras's own loader: the Keras 3 format, or the legacy one by order
    error = max_rel_error(keras_logits(model, net["x"]), net["out"])
    assert error < 1e-4, error
    code, printed, _ = cli("check-weights", net["spec"], out)
    assert code == 0
    assert "OK: the file loads fully by order" in printed
    ours = archspec.build(net["spec"], weights=out)  # archspec's reader
    assert max_rel_error(keras_logits(ours, net["x"]), net["out"]) < 1e-4
    print(f"convert -o {suffix}, keras load_weights: max relative error {error:.3g}")


def test_the_keras3_file_has_the_layout_keras_writes(net, tmp_path, cli):
    """Same groups, datasets, shapes and layer names as ``model.save_weights`` of the same model."""
    ours, theirs = tmp_path / "ours.weights.h5", tmp_path / "keras.weights.h5"
    assert cli("convert", net["spec"], net["pth"], "-o", ours).code == 0
    archspec.build(net["spec"]).save_weights(theirs)

    def layout(path):
        found = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: found.__setitem__(
                name, getattr(obj, "shape", None) or obj.attrs.get("name")))
        return found

    want = layout(theirs)
    assert "layers/sequential/layers/conv2d_1/vars/0" in want  # block_conv2, numbered afresh inside 'block'
    assert layout(ours) == want


def test_check_weights_reports_the_members_as_mapped(net, cli):
    code, out, _ = cli("check-weights", net["spec"], net["pth"])
    assert code == 0
    lines = out.splitlines()
    tensors, n_bn = len(net["state"]), sum(1 for k in net["state"] if k.endswith("num_batches_tracked"))
    assert lines[0].endswith(f"{tensors} tensors; nested_torch maps torchvision keys, {net['modules']} layers "
                             "with weights")
    assert lines[1:] == [f"mapped: {net['modules']} layers ({tensors - n_bn} tensors); unmapped: 0 layers; "
                         f"shape mismatches: 0; leftover: 0 tensors; ignored: {n_bn} (num_batches_tracked)",
                         "OK: the checkpoint fills every layer with weights"]
    code, out, _ = cli("check-weights", net["spec"], net["pth"], "--format", "json")
    assert code == 0
    mapped = {m["layer"]: m["tensors"] for m in json.loads(out)["mapped"]}
    assert mapped["block_conv1"] == {"kernel": "block.0.weight", "bias": "block.0.bias"}
    assert mapped["down_bn"] == {"gamma": "down.0.weight", "beta": "down.0.bias",
                                 "moving_mean": "down.0.running_mean", "moving_variance": "down.0.running_var"}
    taken = {t for tensors_of in mapped.values() for t in tensors_of.values()}
    assert taken == {k for k in net["state"] if not k.endswith("num_batches_tracked")}


def test_a_nested_layer_with_an_unfilled_member_loads_as_a_whole_or_not_at_all(net, tmp_path, cli):
    """block_bn2 names no key: the nested layer 'block' cannot be set member by member (Keras sets a nested
    layer's weights at once), so check-weights refuses at block_bn2's line and says why its other members are
    not loaded; with allow_partial, 'down' and the rest load and 'block' keeps its initial weights."""
    spec = tmp_path / "cut.yaml"
    spec.write_text(SPEC.replace(", checkpoint: block.4}", "}"))
    line = next(i for i, text in enumerate(SPEC.splitlines(), 1) if "name: block_bn2" in text)
    code, out, _ = cli("check-weights", spec, net["pth"])
    assert code == 1
    assert f"{spec}:{line}:13: unmapped: layer 'block_bn2' gets nothing: its step names no checkpoint key" in out
    assert ("unmapped: layer 'block_conv1' gets nothing: it is a member of nested layer 'block', which loads as a "
            "whole, and member 'block_bn2' is not filled") in out
    with pytest.warns(SkippedWeightsWarning, match="block_conv1, block_bn1, block_conv2, block_bn2"):
        model = archspec.build(spec, weights=net["pth"], allow_partial=True)
    state = net["state"]
    down = model.get_layer("down").get_layer("down_conv").kernel
    assert np.array_equal(keras.ops.convert_to_numpy(down), state["down.1.weight"].numpy().transpose(2, 3, 1, 0))
    conv1 = keras.ops.convert_to_numpy(model.get_layer("block").get_layer("block_conv1").kernel)
    assert not np.allclose(conv1, state["block.0.weight"].numpy().transpose(2, 3, 1, 0))

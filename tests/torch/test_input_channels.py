"""``--adapt-input-channels`` with PyTorch checkpoints: a 3-channel checkpoint fills a model with another input
channel count as timm's ``in_chans`` does (issue 25, item 4).

The reference is timm itself: timm's resnet18 (seeded, batch-norm statistics and affine parameters randomised)
saves its 3-channel state_dict; timm's resnet18 with ``in_chans=1`` / ``5`` loads the same state_dict with its
first convolution adapted by timm's own ``adapt_input_conv``. archspec builds ``resnet18`` (torchvision keys,
which timm's ResNet shares) at that channel count from the 3-channel file, and the logits must agree. A wrong
rule (a mean instead of the sum, a repeat without the rescale) must not: that keeps the comparison sensitive.
Cost: three resnet18 builds at 64x64; the error cases stop before Keras builds anything.
"""

from __future__ import annotations

import json
import shlex

import h5py
import numpy as np
import pytest
import timm
import torch
from timm.models._manipulate import adapt_input_conv
from torch import nn

import archspec
from archspec.backend.load import SkippedWeightsWarning
from tests.support.paths import ROOT
from tests.test_doc_examples import doc_block
from torch_reference import keras_logits, max_rel_error, reference, save_safetensors, torch_logits

SIZE = 64  # docs/pytorch.md's examples


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    """timm's resnet18 (3 channels, random, batch norms randomised) and its state_dict as .safetensors (the plan
    is the same for a .pth, which only costs a child process more to read)."""
    folder = tmp_path_factory.mktemp("chans")
    model = reference(lambda: timm.create_model("resnet18", pretrained=False))
    return {"state": model.state_dict(), "st": save_safetensors(model, folder / "resnet18.safetensors")}


def _timm(state: dict, channels: int, conv1: torch.Tensor) -> nn.Module:
    """timm's resnet18 for ``channels`` input channels with ``state``, its first kernel replaced by ``conv1``."""
    model = timm.create_model("resnet18", pretrained=False, in_chans=channels)
    model.load_state_dict({**state, "conv1.weight": conv1})
    return model.eval()


@pytest.mark.parametrize("channels, wrong", [
    (1, lambda w: w.mean(1, keepdim=True)),  # timm sums the RGB filters
    (5, lambda w: w.repeat(1, 2, 1, 1)[:, :5]),  # timm rescales the repeated filters by 3/5
], ids=["1-channel", "5-channels"])
def test_a_3_channel_checkpoint_fills_timms_in_chans_model(r18, channels, wrong, monkeypatch):
    """For one channel, the model is the one docs/pytorch.md's Python example builds."""
    x = np.random.default_rng(channels).standard_normal((2, channels, SIZE, SIZE)).astype("float32")
    expected = torch_logits(_timm(r18["state"], channels, adapt_input_conv(channels, r18["state"]["conv1.weight"])), x)
    assert max_rel_error(expected[0], expected[1]) > 1e-2, "the two images give one output"
    how = "summed" if channels == 1 else f"repeated and scaled by 3/{channels}"
    with pytest.warns(SkippedWeightsWarning, match=rf"layer 'conv1_conv' takes 'conv1.weight' adapted from 3 to "
                                                   rf"{channels} input channel\(s\) \({how}, timm's in_chans rule\)"):
        if channels == 1:
            monkeypatch.chdir(r18["st"].parent)
            namespace = {}
            exec(doc_block("docs/pytorch.md", 'model = archspec.build("resnet18"'), namespace)
            model = namespace["model"]
        else:
            model = archspec.build("resnet18", weights=r18["st"], input_shape=(SIZE, SIZE, channels),
                                   classifier_activation=None, adapt_input_channels=True)
    ours = keras_logits(model, x)
    assert max_rel_error(ours, expected) < 1e-4
    other = torch_logits(_timm(r18["state"], channels, wrong(r18["state"]["conv1.weight"])), x)
    assert max_rel_error(ours, other) > 1e-2, "another rule would pass too"


def test_the_docs_examples(r18, tmp_path, monkeypatch, cli):
    """docs/pytorch.md's two commands print what the docs show (a clone: specs/ in the folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    (tmp_path / "resnet18.safetensors").symlink_to(r18["st"])
    for marker, code in (("64,64,1 --no-top\n", 1), ("--no-top --adapt-input-channels\n", 0)):
        command, *expected = doc_block("docs/pytorch.md", marker).splitlines()
        run = cli(*shlex.split(command[2:])[1:])
        assert run.code == code
        assert (run.err + run.out).splitlines() == expected


def test_without_the_option_the_error_names_it(r18, cli):
    """build and check-weights refuse alike, at the spec line that made the layer, and say what would adapt it."""
    args = [str(r18["st"]), "--input-shape", f"{SIZE},{SIZE},1", "--no-top", "--allow-partial"]
    code, _, err = cli("build", "resnet18", "--weights", *args)
    assert code == 1
    code, out, _ = cli("check-weights", "resnet18", *args)
    assert code == 1
    line = next(line for line in err.splitlines() if ": error: " in line)
    assert line in out.splitlines()  # the same diagnostic
    assert "specs/lib/resnet.yaml:" in line and ("layer 'conv1_conv' takes 'conv1.weight' as (64, 1, 7, 7) but the "
                                                 "checkpoint has (64, 3, 7, 7)") in line
    assert ("the layer reads the network input's 1 channel(s) and the weights are for 3: --adapt-input-channels "
            "(adapt_input_channels=True) adapts them as timm's in_chans does") in line
    assert "Traceback" not in err
    code, out, _ = cli("check-weights", "resnet18", *args, "--adapt-input-channels")
    assert code == 0
    assert ("  adapted: layer 'conv1_conv' takes 'conv1.weight' adapted from 3 to 1 input channel(s) (summed, "
            "timm's in_chans rule)") in out.splitlines()
    assert out.rstrip().endswith("PARTIAL: loads; checkpoint tensor(s) not used: fc.weight, fc.bias")


def test_the_option_adapts_the_input_convolution_only(r18, cli):
    """Another mismatch (conv5 narrowed) stays an error with the option, in build and check-weights alike."""
    args = [str(r18["st"]), "--input-shape", f"{SIZE},{SIZE},1", "--set", "stages.conv5.filters=256",
            "--adapt-input-channels"]
    code, _, err = cli("build", "resnet18", "--weights", *args)
    assert code == 1
    code, out, _ = cli("check-weights", "resnet18", *args, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "fail" and report["diagnostics"][0] in err
    assert "layer 'conv5_block1_1_conv' takes 'layer4.0.conv1.weight' as (256, 256, 3, 3)" in err
    assert report["adapted"] == ["layer 'conv1_conv' takes 'conv1.weight' adapted from 3 to 1 input channel(s) "
                                 "(summed, timm's in_chans rule)"]
    assert [m["layer"] for m in report["shape_mismatches"]][0] == "conv5_block1_1_conv"


def test_convert_writes_the_adapted_kernel(r18, tmp_path, cli):
    """convert with the option writes a 1-channel Keras file: the kernel timm's rule gives, read back with h5py."""
    out = tmp_path / "gray.weights.h5"
    shape = ["--input-shape", f"{SIZE},{SIZE},1", "--no-top"]
    code, _, err = cli("convert", "resnet18", r18["st"], "-o", out, *shape, "--adapt-input-channels")
    assert code == 0
    assert "layer 'conv1_conv' takes 'conv1.weight' adapted from 3 to 1 input channel(s)" in err
    with h5py.File(out, "r") as f:
        kernel = f["layers/conv2d/vars/0"][()]
    expected = adapt_input_conv(1, r18["state"]["conv1.weight"]).permute(2, 3, 1, 0).numpy()  # OIHW -> HWIO
    np.testing.assert_allclose(kernel, expected, rtol=1e-6, atol=1e-7)


TINY = """\
archspec: 1
name: tiny
input: [8, 8, {channels}]
checkpoint: torchvision
stages:
  s:
    body:
      - {first}
      - {{op: global_avg_pool, name: pool}}
"""


@pytest.mark.parametrize("first, channels", [
    ("{op: depthwise_conv2d, kernel_size: 3, depth_multiplier: 2, name: first, checkpoint: first}", 1),
    ("{op: conv2d, filters: 6, kernel_size: 3, groups: 3, name: first, checkpoint: first}", 6),
], ids=["depthwise", "grouped"])
def test_a_depthwise_or_grouped_input_convolution_is_refused(tmp_path, cli, first, channels):
    """The checkpoint's is torch's Conv2d(3, 6, 3, groups=3): depthwise, or grouped by 3 (one channel each).
    Adapted to 1 or 6 input channels, its groups would change: refused, with the option or without."""
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY.format(channels=channels, first=first))
    file = save_safetensors(nn.ModuleDict({"first": nn.Conv2d(3, 6, 3, groups=3)}), tmp_path / "tiny.safetensors")
    op = first.split(",")[0].split()[-1]
    for option in ([], ["--adapt-input-channels"]):
        code, out, _ = cli("check-weights", spec, file, *option)
        assert code == 1
        error = next(line for line in out.splitlines() if ": error: " in line)
        assert f"tiny.yaml:8:9: error: layer 'first' takes 'first.weight' as " in error
        refusal = (f"--adapt-input-channels does not apply: op '{op}' does not take the input's channels on one "
                   "kernel axis with its outputs unchanged (a grouped or depthwise convolution, a normalization): "
                   "only a convolution's kernel is adapted")
        assert (refusal in error) if option else ("--adapt-input-channels" not in error)

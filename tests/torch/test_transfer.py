"""The transfer plan (check-weights), conversion (convert), partial transfer and the readers' refusals,
on torchvision's ResNet-18 (``specs/resnet18.yaml``), built once for the module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest
import torch
import torchvision

import archspec
from archspec.backend.load import SkippedWeightsWarning
from torch_reference import (images, keras_logits, max_rel_error, reference, save_safetensors, save_state_dict,
                             torch_logits)

from tests.support.paths import ROOT

BASIC = ROOT / "specs" / "lib" / "resnet_basic.yaml"


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    """torchvision's resnet18 (random, BN statistics randomised), its logits, its features before fc,
    and its state_dict saved as .pth and as .safetensors (written with numpy)."""
    folder = tmp_path_factory.mktemp("r18")
    model = reference(torchvision.models.resnet18)
    x = images(2, 64)
    logits = torch_logits(model, x)
    fc, model.fc = model.fc, torch.nn.Identity()
    features = torch_logits(model, x)
    model.fc = fc
    state = model.state_dict()
    return {"x": x, "logits": logits, "features": features, "state": state,
            "pth": save_state_dict(model, folder / "r18.pth"), "st": save_safetensors(model, folder / "r18.safetensors")}


def _line(path: Path, text: str) -> int:
    """The 1-based line of ``path`` that contains ``text`` (where the spec writes a step)."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_check_weights_prints_the_plan_for_pth_and_safetensors(r18, cli):
    outs = []
    for f in (r18["pth"], r18["st"]):
        code, out, _ = cli("check-weights", "resnet18", f)
        assert code == 0
        outs.append(out.splitlines())
    n_bn = sum(1 for k in r18["state"] if k.endswith("num_batches_tracked"))
    tensors = len(r18["state"])
    assert outs[0][0].endswith(f"torch checkpoint, {tensors} tensors; resnet18 maps torchvision keys, "
                               "41 layers with weights")
    assert outs[1][0].endswith(f"safetensors checkpoint, {tensors} tensors; resnet18 maps torchvision keys, "
                               "41 layers with weights")
    assert outs[0][1:] == outs[1][1:] == [
        f"mapped: 41 layers ({tensors - n_bn} tensors); unmapped: 0 layers; shape mismatches: 0; leftover: 0 "
        f"tensors; ignored: {n_bn} (num_batches_tracked)", "OK: the checkpoint fills every layer with weights"]


def test_check_weights_json_pairs_every_tensor(r18, cli):
    code, out, _ = cli("check-weights", "resnet18", r18["st"], "--format", "json")
    assert code == 0
    plan = json.loads(out)
    pairs = {t for m in plan["mapped"] for t in m["tensors"].values()}
    assert pairs | set(plan["ignored"]) == set(r18["state"])  # every tensor of torchvision's state_dict
    first = plan["mapped"][0]
    assert (first["layer"], first["tensors"]) == ("conv1_conv", {"kernel": "conv1.weight"})


def test_a_shape_mismatch_names_the_spec_line_that_made_the_layer(r18, cli):
    code, out, _ = cli("check-weights", "resnet18", r18["pth"], "--set", "stages.conv5.filters=256")
    assert code == 1
    line = _line(BASIC, "kernel_size: 3, strides: stride")  # the step that makes conv5_block1_1_conv
    found = tuple(r18["state"]["layer4.0.conv1.weight"].shape)
    assert (f"resnet_basic.yaml:{line}:9: shape mismatch: layer 'conv5_block1_1_conv' takes 'layer4.0.conv1.weight' "
            f"as (256, 256, 3, 3), the checkpoint has {found}") in out
    assert out.rstrip().endswith("FAIL: the checkpoint does not load")


def test_unmapped_and_leftover_tensors(r18, cli, tmp_path):
    """A checkpoint without layer4 leaves conv5's layers unfilled (refused without --allow-partial); tensors
    the spec has no key for are left over."""
    state = {k: v for k, v in r18["state"].items() if not k.startswith("layer4.")}
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "cut.pth")
    code, out, _ = cli("check-weights", "resnet18", tmp_path / "cut.pth")
    assert code == 1
    assert "unmapped: 10 layers;" in out and "leftover: 1 tensors;" in out
    assert "unmapped: layer 'conv5_block1_0_conv' gets nothing: the checkpoint has no layer4.0.downsample.0.weight" in out
    assert "leftover: tensor 'extra.weight' is taken by no layer" in out


def test_partial_transfer_new_classes_loads_all_but_the_classifier(r18, cli):
    code, out, err = cli("build", "resnet18", "--weights", r18["pth"], "--classes", "10", "--input-shape", "64,64,3")
    assert code == 0, err
    assert "resnet18: 74 layers, 41 with weights" in out
    assert ("1 layer(s) keep their initial weights (shapes differ from the checkpoint's, e.g. new classes, or no "
            "tensors): predictions; checkpoint tensor(s) not used: fc.weight, fc.bias") in err
    with pytest.warns(SkippedWeightsWarning, match="predictions"):
        model = archspec.build("resnet18", weights=r18["pth"], classes=10, input_shape=(64, 64, 3))
    features = keras.Model(model.inputs, model.get_layer("avg_pool").output)
    assert max_rel_error(keras_logits(features, r18["x"]), r18["features"]) < 1e-4


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_convert_writes_a_file_keras_loads_by_itself(r18, tmp_path, cli, suffix):
    out = tmp_path / f"r18{suffix}"
    code, printed, _ = cli("convert", "resnet18", r18["st"], "-o", out)
    assert code == 0
    assert f"wrote {out}: 41 layers with weights" in printed
    code, printed, _ = cli("check-weights", "resnet18", out)
    assert code == 0
    assert "OK: the file loads fully by order" in printed
    if suffix == ".weights.h5":  # plain Keras: model.load_weights on the Keras 3 file
        model = archspec.build("resnet18", input_shape=(64, 64, 3), classifier_activation=None)
        model.load_weights(out)
        assert max_rel_error(keras_logits(model, r18["x"]), r18["logits"]) < 1e-4


def test_check_weights_on_safetensors_imports_neither_torch_nor_tensorflow(r18):
    script = textwrap.dedent(f"""
        import sys
        from archspec.cli import main
        code = main(["check-weights", "resnet18", {str(r18["st"])!r}])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "torch", "jax"))
        print("CODE", code, "HEAVY", heavy, file=sys.stderr)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert "CODE 0 HEAVY []" in proc.stderr, proc.stderr[-2000:]


def test_pth_without_torch_says_how_to_install_it(r18):
    """torch missing (its import blocked): reading a .pth is a located error naming the extra, exit 1."""
    script = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "torch":
                    raise ImportError("No module named 'torch'")
        sys.meta_path.insert(0, Block())
        from archspec.cli import main
        sys.exit(main(["check-weights", "resnet18", {str(r18["pth"])!r}]))
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"{r18['pth']}: error: reading a torch.save checkpoint (.pth, .pt) needs PyTorch")
    assert "pip install 'archspec-cnn[torch]'" in proc.stderr and "Traceback" not in proc.stderr


def _safetensors(header: dict | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return (len(text) if length is None else length).to_bytes(8, "little") + text + data


@pytest.mark.parametrize("content, message", [
    (_safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, length=2**40),
     "header length 1099511627776 exceeds the file"),
    (_safetensors(b"{not json"), "header is not JSON"),
    (_safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 8),
     "tensor 'a': shape (4,) of F32 does not fill its 8 bytes"),
    (_safetensors({"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, b"\0" * 8),
     "does not fill its 8 bytes"),
    (_safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
     "data_offsets outside the file's 8 data bytes"),
    (_safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12), "overlap"),
    (_safetensors({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8), "unsupported dtype 'C64'"),
    (_safetensors({"a\nOK: x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "contains a control character"),
])
def test_malformed_safetensors_is_refused_with_a_reason(tmp_path, cli, content, message):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    code, _, err = cli("check-weights", "resnet18", bad)
    assert code == 1
    assert err.startswith(f"{bad}: error: ") and message in err and "Traceback" not in err


def test_a_spec_without_a_checkpoint_family_is_refused(r18, cli):
    code, _, err = cli("check-weights", "resnet50", r18["pth"])
    assert code == 1
    assert "spec 'resnet50' declares no checkpoint family" in err

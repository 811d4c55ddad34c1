"""The bundled dense-prediction networks reproduce their references through the declared checkpoint keys.

Each reference (torchvision's segmentation models and resnet_fpn_backbone, segmentation_models_pytorch's
Unet and FPN) is built seeded with its batch-norm statistics randomised, in eval mode; its state_dict loads through
``archspec.build(spec, weights=the .pth)`` and every named output equals the reference's (relative error
below 1e-4; two images whose outputs differ, so the check can fail). Parameter counts come from the graph
alone for every member; outputs are compared for the smallest member of each family.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

import archspec
from archspec.api import layer_graph
from tests.test_doc_examples import doc_block
from tests.torch.torch_reference import images, max_rel_error, reference, save_state_dict

S = torchvision.models.segmentation
SEGMENTATION = {  # spec: torchvision constructor (aux_loss=True: the published weights have the aux head)
    "fcn_resnet50": S.fcn_resnet50,
    "fcn_resnet101": S.fcn_resnet101,
    "deeplabv3_resnet50": S.deeplabv3_resnet50,
    "deeplabv3_resnet101": S.deeplabv3_resnet101,
}


def _segmentation(spec: str) -> torch.nn.Module:
    return SEGMENTATION[spec](weights=None, weights_backbone=None, aux_loss=True)


def _counts(module: torch.nn.Module) -> tuple[int, int]:
    """(parameters, parameters + every buffer but batch counters): torch's count, and Keras's count_params()
    (which includes the batch-norm statistics)."""
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))
    return params, params + buffers


def _same(model, ref: torch.nn.Module, x: np.ndarray, names: dict[str, str]) -> None:
    """Every output ``ours -> theirs`` of the Keras ``model`` equals the reference's on NCHW images ``x``."""
    with torch.no_grad():
        out = ref(torch.from_numpy(x))
    expected = {k: np.transpose(v.numpy(), (0, 2, 3, 1)) for k, v in (out.items() if isinstance(out, dict)
                                                                      else [("", out)])}
    got = model(np.transpose(x, (0, 2, 3, 1)), training=False)
    for ours, theirs in names.items():
        mine = np.asarray(got[ours] if ours else got)
        assert max_rel_error(mine, expected[theirs]) < 1e-4, (ours, x.shape)
        assert np.abs(expected[theirs][0] - expected[theirs][1]).max() > 1e-3  # two images, two answers


@pytest.mark.parametrize("spec", sorted(SEGMENTATION))
def test_parameter_counts_equal_torchvision(spec: str) -> None:
    params, with_stats = _counts(_segmentation(spec))
    graph = layer_graph(spec)
    assert sum(layer.trainable for layer in graph) == params
    assert sum(layer.params for layer in graph) == with_stats


def test_torchvision_segmentation_outputs(tmp_path: Path, monkeypatch) -> None:
    """docs/dense-prediction.md's example, with the reference's batch-norm statistics randomised: FCN at two
    input sizes (72 is not a multiple of the output stride); DeepLabV3 (the ASPP and its image pooling) at one."""
    monkeypatch.chdir(tmp_path)
    built = []
    original = S.fcn_resnet50
    monkeypatch.setattr(S, "fcn_resnet50", lambda **kw: built.append(reference(lambda: original(**kw))) or built[-1])
    namespace: dict = {}
    exec(compile(doc_block("docs/dense-prediction.md", "fcn_resnet50.pth"), "dense-prediction.md", "exec"), namespace)
    ref, model = built[0], namespace["model"]
    _same(model, ref, images(2, 64), {"out": "out", "aux": "aux"})
    del model, namespace
    model = archspec.build("fcn_resnet50", weights="fcn_resnet50.pth", input_shape=(72, 72, 3))
    _same(model, ref, images(2, 72), {"out": "out", "aux": "aux"})
    del model, ref, built[:]
    gc.collect()
    ref = reference(lambda: _segmentation("deeplabv3_resnet50"))
    pth = save_state_dict(ref, tmp_path / "deeplab.pth")
    model = archspec.build("deeplabv3_resnet50", weights=pth, input_shape=(64, 64, 3))
    _same(model, ref, images(2, 64), {"out": "out", "aux": "aux"})


def _fpn() -> torch.nn.Module:
    """resnet_fpn_backbone seeded, its frozen batch norms' four buffers random (they start at 1/0/0/1, which
    would hide a mis-mapped mean or variance); trainable_layers=5 so nothing stays at an initial value."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    torch.manual_seed(0)
    model = resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=5)
    for module in model.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-0.5, 0.5)
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_resnet50_fpn_backbone_equals_torchvision(tmp_path: Path) -> None:
    ref = _fpn()
    assert sum(layer.params for layer in layer_graph("resnet50_fpn_backbone")) == _counts(ref)[1]
    pth = save_state_dict(ref, tmp_path / "fpn.pth")
    for size in (64, 96):  # multiples of 32: the top-down path doubles sizes exactly
        model = archspec.build("resnet50_fpn_backbone", weights=pth, input_shape=(size, size, 3))
        assert sorted(model.output) == ["0", "1", "2", "3", "pool"]
        _same(model, ref, images(2, size), {k: k for k in ("0", "1", "2", "3", "pool")})
        del model
        gc.collect()


def test_smp_unet_resnet34_equals_segmentation_models_pytorch(tmp_path: Path) -> None:
    """segmentation_models_pytorch's Unet("resnet34") with its defaults, offline (encoder_weights=None)."""
    import segmentation_models_pytorch as smp

    ref = reference(lambda: smp.Unet("resnet34", encoder_weights=None))
    graph = layer_graph("unet_resnet34")
    assert (sum(layer.trainable for layer in graph), sum(layer.params for layer in graph)) == _counts(ref)
    pth = save_state_dict(ref, tmp_path / "unet.pth")
    for size in (64, 96):
        model = archspec.build("unet_resnet34", weights=pth, input_shape=(size, size, 3))
        _same(model, ref, images(2, size), {"": ""})
        del model
        gc.collect()


def _smp_fpn() -> torch.nn.Module:
    """smp's FPN("resnet34") with three classes, its group norms' scales and offsets random too (they start at
    1 and 0, which would hide a swapped weight and bias)."""
    import segmentation_models_pytorch as smp

    def made() -> torch.nn.Module:
        model = smp.FPN("resnet34", encoder_weights=None, classes=3)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.GroupNorm):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
        return model

    return reference(made)


def test_smp_fpn_resnet34_equals_segmentation_models_pytorch(tmp_path: Path) -> None:
    """segmentation_models_pytorch's FPN("resnet34"): GroupNorm and align_corners bilinear upsampling, at two
    multiples of 32 (its input_multiple; smp refuses other sizes)."""
    ref = _smp_fpn()
    graph = layer_graph("fpn_resnet34", classes=3)
    assert (sum(layer.trainable for layer in graph), sum(layer.params for layer in graph)) == _counts(ref)
    pth = save_state_dict(ref, tmp_path / "fpn.pth")
    for size in (64, 96):
        model = archspec.build("fpn_resnet34", weights=pth, input_shape=(size, size, 3), classes=3)
        _same(model, ref, images(2, size), {"": ""})
        del model
        gc.collect()


def _yolo(scale: str) -> torch.nn.Module:
    """Ultralytics' DetectionModel from its own model YAML (no download), seeded, batch norms randomised."""
    from ultralytics.nn.tasks import DetectionModel

    def made() -> torch.nn.Module:
        model = DetectionModel(f"yolov8{scale}.yaml", nc=80, verbose=False)
        for module in model.modules():  # He-initialised, so 22 stages of SiLU still tell two images apart
            if isinstance(module, torch.nn.Conv2d) and module.weight.requires_grad:
                torch.nn.init.kaiming_normal_(module.weight)
        return model

    return reference(made)


def _raw_detect(model: torch.nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """Detect's raw per-level outputs (box bins, then class logits), computed by its own modules from the
    features it receives, as channels-last arrays keyed P3, P4, P5."""
    detect, seen = model.model[-1], []
    hook = detect.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    with torch.no_grad():
        model(torch.from_numpy(x))
        hook.remove()
        levels = [torch.cat((detect.cv2[i](f), detect.cv3[i](f)), 1) for i, f in enumerate(seen[0])]
    return {f"P{3 + i}": np.transpose(t.numpy(), (0, 2, 3, 1)) for i, t in enumerate(levels)}


@pytest.mark.parametrize("scale", ["n", "s"])
def test_yolov8_parameter_counts_equal_ultralytics(scale: str) -> None:
    """Every trainable tensor of Detect's raw outputs and before (the fixed DFL kernel decodes boxes later)."""
    ref = _yolo(scale)
    graph = layer_graph(f"yolov8{scale}")
    assert sum(layer.trainable for layer in graph) == sum(p.numel() for p in ref.parameters() if p.requires_grad)


def test_yolov8n_raw_outputs_equal_ultralytics(tmp_path: Path) -> None:
    ref = _yolo("n")
    pth = save_state_dict(ref, tmp_path / "yolov8n.pth")
    for size in (64, 96):
        x = images(2, size)
        expected = _raw_detect(ref, x)
        model = archspec.build("yolov8n", weights=pth, input_shape=(size, size, 3), allow_partial=True)
        got = model(np.transpose(x, (0, 2, 3, 1)), training=False)
        for level, want in expected.items():
            assert max_rel_error(np.asarray(got[level]), want) < 1e-4, (size, level)
            assert np.abs(want[0] - want[1]).max() > 1e-3
        del model
        gc.collect()

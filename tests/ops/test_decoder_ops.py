"""The decoder vocabulary equals PyTorch's functional ops at odd and even sizes (rel < 1e-5): upsampling,
resize (up and down) and resize_like with F.interpolate(align_corners=False), adaptive_avg_pool with
F.adaptive_avg_pool2d (divisible sizes or not), broadcast_like with expand, conv2d_transpose (plus a cropping
for PyTorch's padding) with nn.ConvTranspose2d through the checkpoint mapping, and the channel ops with
nn.ChannelShuffle and slicing."""

from __future__ import annotations

import sys

sys.modules.setdefault("triton", None)  # see tests/torch/conftest.py

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402

import archspec  # noqa: E402

SIZES = [(7, 9), (8, 6)]  # odd and even


def _build(tmp_path, size, body, checkpoint=False, weights=None):
    spec = {"archspec": 1, "name": "decoder", "input": [*size, 3], "stages": {"s": {"body": body}}}
    if checkpoint:
        spec["checkpoint"] = "torchvision"
    path = tmp_path / "decoder.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return archspec.build(path, weights=weights)


def _run(model, x: torch.Tensor) -> np.ndarray:
    import keras

    out = keras.ops.convert_to_numpy(model(x.numpy().transpose(0, 2, 3, 1)))
    return out.transpose(0, 3, 1, 2) if out.ndim == 4 else out


def _input(size, seed=0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((2, 3, *size)).astype("float32"))


def _close(ours: np.ndarray, ref: torch.Tensor) -> None:
    ref = ref.numpy()
    assert ours.shape == ref.shape
    assert float(np.abs(ours - ref).max() / np.abs(ref).max()) < 1e-5


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("factor, mode", [(2, "nearest"), (3, "nearest"), (2, "bilinear"), ([3, 2], "bilinear")])
def test_upsampling_is_interpolate_by_a_factor(tmp_path, size, factor, mode):
    model = _build(tmp_path, size, [{"op": "upsampling", "size": factor, "interpolation": mode}])
    x = _input(size)
    scale = tuple(factor) if isinstance(factor, list) else factor
    extra = {} if mode == "nearest" else {"align_corners": False}
    ref = F.interpolate(x, scale_factor=scale, mode=mode, **extra)
    _close(_run(model, x), ref)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("target", [[15, 4], [3, 3], [8, 11]])
def test_resize_is_bilinear_interpolate_up_and_down(tmp_path, size, target):
    model = _build(tmp_path, size, [{"op": "resize", "size": target}])
    x = _input(size)
    _close(_run(model, x), F.interpolate(x, size=tuple(target), mode="bilinear", align_corners=False))


@pytest.mark.parametrize("size", SIZES)
def test_resize_like_takes_the_second_inputs_size(tmp_path, size):
    """FCN's head: a strided map resized back to the input's size (F.interpolate(y, size=x.shape[-2:]))."""
    body = [{"op": "avg_pool", "pool_size": 2, "padding": "same"}, {"op": "resize_like", "in": ["prev", "input"]}]
    model = _build(tmp_path, size, body)
    x = _input(size)
    pooled = F.avg_pool2d(x, 2, ceil_mode=True, count_include_pad=False)
    _close(_run(model, x), F.interpolate(pooled, size=size, mode="bilinear", align_corners=False))


@pytest.mark.parametrize("size", SIZES)
def test_broadcast_like_tiles_a_pooled_map(tmp_path, size):
    body = [{"op": "global_avg_pool", "keepdims": True}, {"op": "broadcast_like", "in": ["prev", "input"]}]
    x = _input(size)
    _close(_run(_build(tmp_path, size, body), x), x.mean((2, 3), keepdim=True).expand(-1, -1, *size))


@pytest.mark.parametrize("size", [*SIZES, (13, 13), (4, 5)])
@pytest.mark.parametrize("out", [[3, 4], [6, 6], [1, 1]])
def test_adaptive_avg_pool_has_pytorchs_bins(tmp_path, size, out):
    model = _build(tmp_path, size, [{"op": "adaptive_avg_pool", "output_size": out}])
    x = _input(size)
    _close(_run(model, x), F.adaptive_avg_pool2d(x, tuple(out)))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("k, s, p, op", [(2, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0), (3, 1, 1, 0), (3, 3, 0, 2)])
def test_conv2d_transpose_is_conv_transpose2d_from_a_checkpoint(tmp_path, size, k, s, p, op):
    """nn.ConvTranspose2d(k, s, padding=p, output_padding=op) is conv2d_transpose (valid, output_padding op)
    and a cropping of p on every side; its weight (in, out, kh, kw) loads through the op's torch layout."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.ConvTranspose2d(3, 5, k, s, padding=p, output_padding=op))
    with torch.no_grad():
        net[0].bias.uniform_(-1, 1)
    torch.save(net.state_dict(), tmp_path / "net.pth")
    body = [{"op": "conv2d_transpose", "filters": 5, "kernel_size": k, "strides": s,
             "output_padding": op if op else None, "checkpoint": "0"}]
    if p:
        body.append({"op": "cropping", "cropping": p})
    model = _build(tmp_path, size, body, checkpoint=True, weights=tmp_path / "net.pth")
    x = _input(size)
    with torch.no_grad():
        _close(_run(model, x), net(x))


@pytest.mark.parametrize("size", SIZES)
def test_split_and_shuffle_are_shufflenets(tmp_path, size):
    """ShuffleNetV2's unit without weights: x1, x2 = x.chunk(2); cat(x1, f(x2)); channel_shuffle(., 2)."""
    body = [{"op": "conv2d", "filters": 8, "kernel_size": 1, "use_bias": False, "name": "c", "as": "x",
             "checkpoint": "0"},
            {"op": "channel_slice", "stop": 4, "as": "x1"},
            {"op": "channel_slice", "in": "x", "start": 4},
            {"op": "activation", "activation": "sigmoid"},
            {"op": "concat", "in": ["x1", "prev"]},
            {"op": "channel_shuffle", "groups": 2}]
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1, bias=False))
    torch.save(net.state_dict(), tmp_path / "net.pth")
    model = _build(tmp_path, size, body, checkpoint=True, weights=tmp_path / "net.pth")
    x = _input(size)
    with torch.no_grad():
        x1, x2 = net(x).chunk(2, dim=1)
        ref = torch.nn.ChannelShuffle(2)(torch.cat([x1, torch.sigmoid(x2)], 1))
    _close(_run(model, x), ref)


@pytest.mark.parametrize("size", [*SIZES, (9, 9)])
@pytest.mark.parametrize("k, s, p, ceil", [(3, 2, 0, True), (2, 2, 0, True), (3, 2, 1, False), (3, 2, 1, True)])
def test_padded_and_ceil_mode_max_pool_is_pytorchs(tmp_path, size, k, s, p, ceil):
    """PyTorch pads max pooling with -inf; ceil_mode adds a last window over the bottom/right edge, which is
    stride - 1 more rows and columns of -inf there (docs/spec-language.md). Inputs have negative values, where
    zero padding would differ."""
    extra = s - 1 if ceil else 0
    body = [{"op": "pad", "padding": [[p, p + extra], [p, p + extra]], "value": float("-inf")},
            {"op": "max_pool", "pool_size": k, "strides": s}]
    x = _input(size)
    _close(_run(_build(tmp_path, size, body), x), F.max_pool2d(x, k, s, p, ceil_mode=ceil))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool_count_include_pad(tmp_path, size, include):
    """avg_pool2d(x, 3, 1, padding=1): zero_pad then avg_pool counts the padding (PyTorch's default,
    Inception's); padding 'same' does not."""
    body = ([{"op": "zero_pad", "padding": 1}, {"op": "avg_pool", "pool_size": 3, "strides": 1}] if include
            else [{"op": "avg_pool", "pool_size": 3, "strides": 1, "padding": "same"}])
    x = _input(size)
    _close(_run(_build(tmp_path, size, body), x), F.avg_pool2d(x, 3, 1, 1, count_include_pad=include))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("target", [[14, 18], [15, 4], [1, 1]])
def test_resize_like_with_aligned_corners_is_interpolate_align_corners(tmp_path, size, target):
    """smp's FPN: F.interpolate(x, size, mode="bilinear", align_corners=True), up, down and to one pixel
    (the second input, a resize of the image, only gives the size)."""
    body = [{"op": "resize", "size": target}, {"op": "resize_like", "in": ["input", "prev"], "align_corners": True}]
    model = _build(tmp_path, size, body)
    x = _input(size)
    _close(_run(model, x), F.interpolate(x, size=tuple(target), mode="bilinear", align_corners=True))


@pytest.mark.parametrize("size", SIZES)
def test_group_norm_is_torch_group_norm_from_a_checkpoint(tmp_path, size):
    """nn.GroupNorm(4, 8) (epsilon 1e-5) after a convolution, both from a state_dict: per image, each group of
    two channels normalized over them and H x W, then the learned per-channel scale and offset."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.GroupNorm(4, 8))
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.5, 0.5)
    torch.save(net.state_dict(), tmp_path / "net.pth")
    body = [{"op": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "checkpoint": "0"},
            {"op": "group_norm", "groups": 4, "epsilon": 1e-5, "checkpoint": "1"}]
    model = _build(tmp_path, size, body, checkpoint=True, weights=tmp_path / "net.pth")
    x = _input(size)
    with torch.no_grad():
        _close(_run(model, x), net(x))


def test_aligned_resize_needs_the_first_inputs_size(tmp_path):
    """The interpolation matrices are computed from both sizes when the model is built: an open first input
    is a located error (graph only), not a failure inside Keras."""
    from archspec.api import layer_graph
    from archspec.errors import SpecError

    spec = {"archspec": 1, "name": "open", "input": [None, None, 3],
            "stages": {"s": {"body": [{"op": "resize", "size": [4, 4]},
                                      {"op": "resize_like", "in": ["input", "prev"], "align_corners": True}]}}}
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError, match="align_corners needs its first input's size, which is open"):
        layer_graph(path)

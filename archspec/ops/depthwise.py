"""Depthwise and depthwise-separable convolutions (Xception, MobileNet, EfficientNet)."""

from __future__ import annotations

from archspec.ops.base import (ACT, DILATION, KERNEL_SIZE, PADDING, STRIDES, USE_BIAS, Attr, OpDef, Shape, TorchLayout,
                               TorchTensor, Weight, area, pair, spatial, stride_or_dilation, window)


def _shape(op: str, filters: str | None):
    def rule(a: dict, s: list[Shape]) -> Shape:
        h, w, c = spatial(s[0], op)
        kh, kw = pair(a["kernel_size"])
        sh, sw = pair(a["strides"])
        dh, dw = pair(a["dilation_rate"])
        out = a[filters] if filters else c * a["depth_multiplier"]
        return (window(h, kh, sh, a["padding"], dh, "a kernel"), window(w, kw, sw, a["padding"], dw, "a kernel"),
                out)

    return rule


def _depthwise_weights(a: dict, s: list[Shape]) -> list[Weight]:
    kh, kw = pair(a["kernel_size"])
    c, m = s[0][2], a["depth_multiplier"]
    out = [Weight("depthwise_kernel", (kh, kw, c, m), initializer="depthwise_initializer")]
    return out + [Weight("bias", (c * m,), initializer="bias_initializer")] if a["use_bias"] else out


def _separable_weights(a: dict, s: list[Shape]) -> list[Weight]:
    kh, kw = pair(a["kernel_size"])
    c, m, f = s[0][2], a["depth_multiplier"], a["filters"]
    out = [Weight("depthwise_kernel", (kh, kw, c, m), initializer="depthwise_initializer"),
           Weight("pointwise_kernel", (1, 1, c * m, f), initializer="pointwise_initializer")]
    return out + [Weight("bias", (f,), initializer="bias_initializer")] if a["use_bias"] else out


def _depthwise_macs(a: dict, s: list[Shape], out: Shape) -> int:
    kh, kw = pair(a["kernel_size"])
    hw = area(out)
    return 0 if hw is None else kh * kw * s[0][2] * a["depth_multiplier"] * hw


def _separable_macs(a: dict, s: list[Shape], out: Shape) -> int:
    hw = area(out)
    return 0 if hw is None else _depthwise_macs(a, s, out) + s[0][2] * a["depth_multiplier"] * a["filters"] * hw


_COMMON = {
    "kernel_size": KERNEL_SIZE,
    "strides": STRIDES,
    "padding": PADDING,
    "depth_multiplier": Attr("int", 1, doc="depthwise output channels per input channel", minimum=1),
    "dilation_rate": DILATION,
    "use_bias": USE_BIAS,
    "activation": ACT,
}

OPS = [
    OpDef(
        "depthwise_conv2d", "DepthwiseConv2D", "Depthwise convolution: one kernel per input channel.",
        "{op: depthwise_conv2d, kernel_size: 3, strides: 2, padding: same, use_bias: false}",
        _COMMON, _shape("depthwise_conv2d", None),
        lambda K, a, n: K.DepthwiseConv2D(a["kernel_size"], strides=a["strides"], padding=a["padding"],
                                          depth_multiplier=a["depth_multiplier"], dilation_rate=a["dilation_rate"],
                                          use_bias=a["use_bias"], activation=a["activation"], name=n),
        _depthwise_weights, _depthwise_macs, fill="#cfe2f3", checks=(stride_or_dilation,),
        torch=TorchLayout((TorchTensor("depthwise_kernel", "weight", "depthwise"), TorchTensor("bias", "bias"))),
    ),
    OpDef(
        "separable_conv2d", "SeparableConv2D", "Depthwise convolution followed by a 1x1 pointwise convolution.",
        "{op: separable_conv2d, filters: 128, kernel_size: 3, padding: same, use_bias: false}",
        {"filters": Attr("int", required=True, doc="output channels", minimum=1), **_COMMON},
        _shape("separable_conv2d", "filters"),
        lambda K, a, n: K.SeparableConv2D(a["filters"], a["kernel_size"], strides=a["strides"], padding=a["padding"],
                                          depth_multiplier=a["depth_multiplier"], dilation_rate=a["dilation_rate"],
                                          use_bias=a["use_bias"], activation=a["activation"], name=n),
        _separable_weights, _separable_macs, fill="#cfe2f3", checks=(stride_or_dilation,),
    ),
]

"""Convolutions."""

from __future__ import annotations

from archspec.ops.base import (ACT, PADDING, Attr, OpDef, Shape, ShapeError, TorchLayout, TorchTensor, Weight, area,
                               pair, spatial, stride_or_dilation, window)


def _conv_shape(a: dict, s: list[Shape]) -> Shape:
    h, w, c = spatial(s[0], "conv2d")
    if c is not None and c % a["groups"]:
        raise ShapeError(f"conv2d with groups={a['groups']} needs input channels divisible by it, got {c}")
    kh, kw = pair(a["kernel_size"])
    sh, sw = pair(a["strides"])
    dh, dw = pair(a["dilation_rate"])
    return (window(h, kh, sh, a["padding"], dh, "a kernel"), window(w, kw, sw, a["padding"], dw, "a kernel"),
            a["filters"])


def _conv_weights(a: dict, s: list[Shape]) -> list[Weight]:
    kh, kw = pair(a["kernel_size"])
    out = [Weight("kernel", (kh, kw, s[0][2] // a["groups"], a["filters"]), initializer="kernel_initializer")]
    return out + [Weight("bias", (a["filters"],), initializer="bias_initializer")] if a["use_bias"] else out


def _conv_macs(a: dict, s: list[Shape], out: Shape) -> int:
    kh, kw = pair(a["kernel_size"])
    hw = area(out)
    return 0 if hw is None else kh * kw * (s[0][2] // a["groups"]) * a["filters"] * hw


def _groups_divide_filters(a: dict) -> str | None:
    if a["filters"] % a["groups"]:
        return f"filters ({a['filters']}) must be divisible by groups ({a['groups']})"
    return None


OPS = [
    OpDef(
        "conv2d", "Conv2D", "2-D convolution; `groups` splits channels into independent groups (ResNeXt).",
        "{op: conv2d, filters: 64, kernel_size: 3, strides: 2, padding: same}",
        {
            "filters": Attr("int", required=True, doc="output channels", minimum=1),
            "kernel_size": Attr("size2", required=True, doc="kernel size: k or [kh, kw]", minimum=1),
            "strides": Attr("size2", 1, doc="stride: s or [sh, sw]", minimum=1),
            "padding": PADDING,
            "dilation_rate": Attr("size2", 1, doc="dilation: d or [dh, dw]", minimum=1),
            "groups": Attr("int", 1, doc="channel groups (input and output channels must divide by it)", minimum=1),
            "use_bias": Attr("bool", True, doc="add a bias vector"),
            "activation": ACT,
        },
        _conv_shape,
        lambda K, a, n: K.Conv2D(a["filters"], a["kernel_size"], strides=a["strides"], padding=a["padding"],
                                 dilation_rate=a["dilation_rate"], groups=a["groups"], use_bias=a["use_bias"],
                                 activation=a["activation"], name=n),
        _conv_weights, _conv_macs, fill="#cfe2f3", checks=(_groups_divide_filters, stride_or_dilation),
        torch=TorchLayout((TorchTensor("kernel", "weight", "conv"), TorchTensor("bias", "bias"))),
    ),
]

"""Convolutions."""

from __future__ import annotations

from archspec.ops.base import (ACT, DILATION, KERNEL_SIZE, PADDING, STRIDES, USE_BIAS, Attr, OpDef, Shape, ShapeError,
                               TorchLayout, TorchTensor, Weight, area, pair, spatial, stride_or_dilation, window)


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


def _transpose_length(n: int | None, k: int, s: int, padding: str, extra: int | None) -> int | None:
    """Keras's ``deconv_output_length``: PyTorch's ConvTranspose2d is padding 'valid' with output_padding
    (``(n - 1) * s + k + output_padding``) followed by a cropping of its ``padding`` on each side."""
    if n is None:
        return None
    if extra is None:
        return n * s + max(k - s, 0) if padding == "valid" else n * s
    return (n - 1) * s + k - (2 * (k // 2) if padding == "same" else 0) + extra


def _transpose_shape(a: dict, s: list[Shape]) -> Shape:
    h, w, _ = spatial(s[0], "conv2d_transpose")
    (kh, kw), (sh, sw) = pair(a["kernel_size"]), pair(a["strides"])
    oh, ow = (None, None) if a["output_padding"] is None else pair(a["output_padding"])
    return (_transpose_length(h, kh, sh, a["padding"], oh), _transpose_length(w, kw, sw, a["padding"], ow),
            a["filters"])


def _transpose_weights(a: dict, s: list[Shape]) -> list[Weight]:
    kh, kw = pair(a["kernel_size"])
    out = [Weight("kernel", (kh, kw, a["filters"], s[0][2]), initializer="kernel_initializer")]
    return out + [Weight("bias", (a["filters"],), initializer="bias_initializer")] if a["use_bias"] else out


def _transpose_macs(a: dict, s: list[Shape], out: Shape) -> int:
    """Every input position spreads its C_in values over a kh x kw window of C_out outputs."""
    kh, kw = pair(a["kernel_size"])
    hw = area(s[0])
    return 0 if hw is None else kh * kw * s[0][2] * a["filters"] * hw


def _output_padding_below_stride(a: dict) -> str | None:
    if a["output_padding"] is not None and any(p >= st for p, st in zip(pair(a["output_padding"]),
                                                                         pair(a["strides"]))):
        return f"output_padding {a['output_padding']} must be smaller than the stride {a['strides']}"
    return None


OPS = [
    OpDef(
        "conv2d", "Conv2D", "2-D convolution; `groups` splits channels into independent groups (ResNeXt).",
        "{op: conv2d, filters: 64, kernel_size: 3, strides: 2, padding: same}",
        {
            "filters": Attr("int", required=True, doc="output channels", minimum=1),
            "kernel_size": KERNEL_SIZE,
            "strides": STRIDES,
            "padding": PADDING,
            "dilation_rate": DILATION,
            "groups": Attr("int", 1, doc="channel groups (input and output channels must divide by it)", minimum=1),
            "use_bias": USE_BIAS,
            "activation": ACT,
        },
        _conv_shape,
        lambda K, a, n: K.Conv2D(a["filters"], a["kernel_size"], strides=a["strides"], padding=a["padding"],
                                 dilation_rate=a["dilation_rate"], groups=a["groups"], use_bias=a["use_bias"],
                                 activation=a["activation"], name=n),
        _conv_weights, _conv_macs, fill="#cfe2f3", checks=(_groups_divide_filters, stride_or_dilation),
        torch=TorchLayout((TorchTensor("kernel", "weight", "conv"), TorchTensor("bias", "bias"))),
    ),
    OpDef(
        "conv2d_transpose", "Conv2DTranspose",
        "Transposed convolution (a decoder's learned upsampling); PyTorch's `padding: p` is a `cropping: p` after it.",
        "{op: conv2d_transpose, filters: 8, kernel_size: 2, strides: 2}",
        {
            "filters": Attr("int", required=True, doc="output channels", minimum=1),
            "kernel_size": KERNEL_SIZE,
            "strides": STRIDES,
            "padding": PADDING,
            "output_padding": Attr("size2", None, nullable=True, minimum=0,
                                   doc="rows/columns added at the bottom/right, below the stride (null: Keras's "
                                       "default size)"),
            "use_bias": USE_BIAS,
            "activation": ACT,
        },
        _transpose_shape,
        lambda K, a, n: K.Conv2DTranspose(a["filters"], a["kernel_size"], strides=a["strides"],
                                          padding=a["padding"], output_padding=a["output_padding"],
                                          use_bias=a["use_bias"], activation=a["activation"], name=n),
        _transpose_weights, _transpose_macs, fill="#cfe2f3", checks=(_output_padding_below_stride,),
        # nn.ConvTranspose2d (in, out, kh, kw) -> Conv2DTranspose (kh, kw, out, in): the same axis move as conv
        torch=TorchLayout((TorchTensor("kernel", "weight", "conv"), TorchTensor("bias", "bias"))),
    ),
]

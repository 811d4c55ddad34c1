"""Padding and pooling."""

from __future__ import annotations

from typing import Callable

from archspec.ops.base import PADDING, Attr, OpDef, Shape, key_attrs, pad4, pair, spatial, window


def _pool_shape(name: str) -> Callable[[dict, list[Shape]], Shape]:
    def rule(a: dict, s: list[Shape]) -> Shape:
        h, w, c = spatial(s[0], name)
        kh, kw = pair(a["pool_size"])
        sh, sw = pair(a["strides"] if a["strides"] is not None else a["pool_size"])
        return window(h, kh, sh, a["padding"], 1, "a pool"), window(w, kw, sw, a["padding"], 1, "a pool"), c

    return rule


def _pad_shape(op: str) -> Callable[[dict, list[Shape]], Shape]:
    def rule(a: dict, s: list[Shape]) -> Shape:
        h, w, c = spatial(s[0], op)
        t, b, l, r = pad4(a["padding"])
        return (None if h is None else h + t + b, None if w is None else w + l + r, c)

    return rule


def _pad_constant(K, a: dict, n: str):
    """The Keras ``Pad`` operation with a constant: spatial axes padded, batch and channels not."""
    def apply(x):
        t, b, l, r = pad4(a["padding"])
        width = [[0, 0], [t, b], [l, r], [0, 0]] if K.channel_axis == -1 else [[0, 0], [0, 0], [t, b], [l, r]]
        return K.Pad(width, name=n)(x, constant_values=a["value"])

    return apply


def _global_shape(a: dict, s: list[Shape]) -> Shape:
    c = spatial(s[0], "global pooling")[2]
    return (1, 1, c) if a["keepdims"] else (c,)


def _adaptive_shape(a: dict, s: list[Shape]) -> Shape:
    return (*pair(a["output_size"]), spatial(s[0], "adaptive_avg_pool")[2])


_POOL = {
    "pool_size": Attr("size2", 2, doc="window: k or [kh, kw]", minimum=1),
    "strides": Attr("size2", None, nullable=True, doc="stride (default: pool_size)", minimum=1),
    "padding": PADDING,
}
_KEEPDIMS = {"keepdims": Attr("bool", False, doc="keep H and W as 1x1 (a (1, 1, C) map) instead of a vector")}
_POOL_FILL = "#d9ead3"

OPS = [
    OpDef("zero_pad", "ZeroPadding2D", "Zero padding of the spatial axes.",
          "{op: zero_pad, padding: [[0, 1], [0, 1]]}",
          {"padding": Attr("padding2d", 1, doc="p, [ph, pw] or [[top, bottom], [left, right]]", minimum=0)},
          _pad_shape("zero_pad"),
          lambda K, a, n: K.ZeroPadding2D((lambda t, b, l, r: ((t, b), (l, r)))(*pad4(a["padding"])), name=n),
          summary=lambda a: f"pad {a['padding']}"),
    OpDef("pad", "Pad",
          "Padding of the spatial axes with a constant: -inf before a max_pool is PyTorch's padded max pooling.",
          "{op: pad, padding: [[0, 1], [0, 1]], value: -.inf}",
          {"padding": Attr("padding2d", required=True, doc="p, [ph, pw] or [[top, bottom], [left, right]]",
                           minimum=0),
           "value": Attr("float", required=True, doc="the constant (YAML's -.inf for minus infinity)")},
          _pad_shape("pad"), _pad_constant, fill="#eeeeee", layer=False,
          summary=lambda a: f"pad {a['padding']} with {a['value']:g}"),
    OpDef("max_pool", "MaxPooling2D", "Max pooling.", "{op: max_pool, pool_size: 3, strides: 2, padding: same}",
          _POOL, _pool_shape("max_pool"),
          lambda K, a, n: K.MaxPooling2D(a["pool_size"], strides=a["strides"], padding=a["padding"], name=n),
          fill=_POOL_FILL),
    OpDef("avg_pool", "AveragePooling2D", "Average pooling.", "{op: avg_pool, pool_size: 2, strides: 2}",
          _POOL, _pool_shape("avg_pool"),
          lambda K, a, n: K.AveragePooling2D(a["pool_size"], strides=a["strides"], padding=a["padding"], name=n),
          fill=_POOL_FILL),
    OpDef("global_avg_pool", "GlobalAveragePooling2D", "Average over H and W: a vector, or (1, 1, C) with keepdims.",
          "{op: global_avg_pool, name: avg_pool}", _KEEPDIMS, _global_shape,
          lambda K, a, n: K.GlobalAveragePooling2D(keepdims=a["keepdims"], name=n), fill=_POOL_FILL,
          summary=lambda a: "keepdims" if a["keepdims"] else key_attrs(a)),
    OpDef("global_max_pool", "GlobalMaxPooling2D", "Max over H and W: a vector, or (1, 1, C) with keepdims.",
          "{op: global_max_pool, name: max_pool}", _KEEPDIMS, _global_shape,
          lambda K, a, n: K.GlobalMaxPooling2D(keepdims=a["keepdims"], name=n), fill=_POOL_FILL,
          summary=lambda a: "keepdims" if a["keepdims"] else key_attrs(a)),
    OpDef("adaptive_avg_pool", "AdaptiveAveragePooling2D",
          "Average pooling to a given output size with PyTorch's bins (row i averages rows floor(i*H/h) to "
          "ceil((i+1)*H/h)), sizes divisible or not.",
          "{op: adaptive_avg_pool, output_size: [2, 3]}",
          {"output_size": Attr("size2", required=True, doc="output size: s or [h, w]", minimum=1)},
          _adaptive_shape, lambda K, a, n: K.AdaptiveAveragePooling2D(a["output_size"], name=n), fill=_POOL_FILL,
          summary=lambda a: "to " + "x".join(map(str, pair(a["output_size"])))),
]

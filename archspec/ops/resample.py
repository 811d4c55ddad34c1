"""Changing a feature map's spatial size: the decoder vocabulary of U-Nets, FCN/DeepLab heads and FPNs.

``upsampling`` (a whole factor, nearest or bilinear), ``resize`` (to a given size) and ``resize_like`` (to
another value's size) interpolate bilinearly with half-pixel centres and no antialiasing, which is PyTorch's
``F.interpolate(..., mode="bilinear", align_corners=False)`` (torchvision's segmentation models) up and down;
``nearest`` upsampling repeats each pixel as ``mode="nearest"`` does. ``broadcast_like`` tiles a (1, 1, C) map
over another value's H x W (DeepLab's image-pooling branch).

``resize_like`` with ``align_corners: true`` maps the corner pixels onto each other instead (PyTorch's
``align_corners=True``, segmentation_models_pytorch's FPN and ``nn.UpsamplingBilinear2d``). Keras has no
such resize, so it is the separable linear map it is: one ``einsum`` with the two interpolation matrices,
which the record computes from the (fixed) sizes.

``resize_like`` and ``broadcast_like`` take their size from the second input's shape, which must be known
when the model is built (the network's input size fixed). Their Keras node reads the first input only
(the second gives a size, not values): ``OpDef.keras_inputs``.
"""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, fmt_shape, pair, spatial

_FILL = "#d0e0e3"
_INTERPOLATION = Attr("choice", "bilinear", choices=("bilinear",),
                      doc="'bilinear' (half-pixel centres: PyTorch's align_corners=False)")


def _scaled(n: int | None, f: int) -> int | None:
    return None if n is None else n * f


def _upsampling_shape(a: dict, s: list[Shape]) -> Shape:
    h, w, c = spatial(s[0], "upsampling")
    fh, fw = pair(a["size"])
    return _scaled(h, fh), _scaled(w, fw), c


def _resize_shape(a: dict, s: list[Shape]) -> Shape:
    h, w = pair(a["size"])
    return h, w, spatial(s[0], "resize")[2]


def _like_shape(op: str):
    def rule(a: dict, s: list[Shape]) -> Shape:
        c = spatial(s[0], op)[2]
        h, w, _ = spatial(s[1], op)
        if h is None or w is None:
            raise ShapeError(f"{op} takes its size from its second input, whose size is open "
                             f"({fmt_shape(s[1])}); give the network a fixed input size")
        if op == "broadcast_like" and s[0][:2] != (1, 1):
            raise ShapeError(f"broadcast_like tiles a (1, 1, C) map, got {fmt_shape(s[0])}")
        return h, w, c

    return rule


def _aligned_shape(a: dict, s: list[Shape]) -> Shape:
    out = _like_shape("resize_like")(a, s)
    if a["align_corners"] and None in spatial(s[0], "resize_like")[:2]:
        raise ShapeError(f"resize_like with align_corners needs its first input's size, which is open "
                         f"({fmt_shape(s[0])}); give the network a fixed input size")
    return out


def aligned_matrix(n: int, m: int) -> list[list[float]]:
    """The (m, n) matrix of a length-n axis resized to m with corners aligned: output i samples input
    position i * (n - 1) / (m - 1), blending its two neighbours (PyTorch's align_corners=True)."""
    rows = []
    for i in range(m):
        pos = i * (n - 1) / (m - 1) if m > 1 else 0.0
        lo = min(int(pos), n - 1)
        hi, frac = min(lo + 1, n - 1), pos - lo
        row = [0.0] * n
        row[lo] += 1.0 - frac
        row[hi] += frac
        rows.append(row)
    return rows


def _bilinear_macs(a: dict, s: list[Shape], out: Shape) -> int:
    """Four products per output value (a bilinear blend); nearest copies."""
    if a.get("interpolation", "bilinear") != "bilinear" or out[0] is None or out[1] is None:
        return 0
    return 4 * out[0] * out[1] * out[2]


def _spatial_axes(K) -> tuple[int, int]:
    return (2, 3) if K.channel_axis == 1 else (1, 2)


def _resize_like(K, a: dict, n: str):
    """The Keras ``Resize`` operation to the second input's (static) height and width; with align_corners,
    the ``Einsum`` of the input with its height's and width's interpolation matrices."""
    def apply(xs):
        axes = _spatial_axes(K)
        size = tuple(int(xs[1].shape[i]) for i in axes)
        if not a["align_corners"]:
            return K.Resize(size, interpolation=a["interpolation"], name=n)(xs[0])
        rows, cols = (K.array(aligned_matrix(int(xs[0].shape[i]), m), dtype=xs[0].dtype)
                      for i, m in zip(axes, size))
        pattern = "nchw,oh,pw->ncop" if axes == (2, 3) else "nhwc,oh,pw->nopc"
        return K.Einsum(pattern, name=n)(xs[0], rows, cols)

    return apply


def _broadcast_like(K, a: dict, n: str):
    """The Keras ``Tile`` operation repeating a 1x1 map to the second input's (static) height and width."""
    def apply(xs):
        reps = [1, 1, 1, 1]
        for i in _spatial_axes(K):
            reps[i] = int(xs[1].shape[i])
        return K.Tile(reps, name=n)(xs[0])

    return apply


def _size_summary(a: dict) -> str:
    h, w = pair(a["size"])
    return f"x{h}" if h == w else f"x{h}x{w}"


OPS = [
    OpDef("upsampling", "UpSampling2D",
          "Upsampling by whole factors: nearest repeats pixels, bilinear is PyTorch's align_corners=False.",
          "{op: upsampling, size: 2, interpolation: bilinear}",
          {"size": Attr("size2", 2, doc="factor: f or [fh, fw]", minimum=1),
           "interpolation": Attr("choice", "nearest", choices=("nearest", "bilinear"),
                                 doc="'nearest' (repeat) or 'bilinear' (half-pixel centres)")},
          _upsampling_shape,
          lambda K, a, n: K.UpSampling2D(a["size"], interpolation=a["interpolation"], name=n),
          macs=_bilinear_macs, fill=_FILL,
          summary=lambda a: f"{_size_summary(a)} {a['interpolation']}"),
    OpDef("resize", "Resizing",
          "Bilinear resize to a fixed height and width, up or down (PyTorch's interpolate, align_corners=False).",
          "{op: resize, size: [9, 5]}",
          {"size": Attr("size2", required=True, doc="output size: s or [h, w]", minimum=1),
           "interpolation": _INTERPOLATION},
          _resize_shape,
          lambda K, a, n: K.Resizing(*pair(a["size"]), interpolation=a["interpolation"], name=n),
          macs=_bilinear_macs, fill=_FILL, summary=lambda a: "to " + "x".join(map(str, pair(a["size"])))),
    OpDef("resize_like", "Resize",
          "Bilinear resize of the first input to the second input's height and width (PyTorch's "
          "interpolate(x, size=y.shape[-2:]), align_corners=False unless the attribute says true).",
          "{op: resize_like, in: [prev, input]}",
          {"interpolation": _INTERPOLATION,
           "align_corners": Attr("bool", False, doc="true: corner pixels aligned (PyTorch's align_corners=True, "
                                 "nn.UpsamplingBilinear2d); emits an Einsum operation")},
          _aligned_shape, _resize_like, macs=_bilinear_macs, min_inputs=2, max_inputs=2, fill=_FILL,
          layer=False, keras_inputs=1,
          summary=lambda a: "to size of 2nd" + (", corners aligned" if a["align_corners"] else "")),
    OpDef("broadcast_like", "Tile",
          "A (1, 1, C) map repeated over the second input's height and width (DeepLab's image pooling).",
          "{op: broadcast_like, in: [prev, input]}", {},
          _like_shape("broadcast_like"), _broadcast_like, min_inputs=2, max_inputs=2, fill=_FILL,
          layer=False, keras_inputs=1, summary=lambda a: "over size of 2nd"),
]

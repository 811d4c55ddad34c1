"""Cropping: the inverse of zero padding, removing rows and columns at the borders."""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, pad4, spatial


def _crop_shape(a: dict, s: list[Shape]) -> Shape:
    """Keras refuses a cropping that leaves nothing: a known size must keep at least one row/column."""
    h, w, c = spatial(s[0], "cropping")
    t, b, l, r = pad4(a["cropping"])
    for size, cut, what in ((h, t + b, "height"), (w, l + r, "width")):
        if size is not None and cut >= size:
            raise ShapeError(f"cropping {cut} from a {what} of {size} leaves nothing")
    return (None if h is None else h - t - b, None if w is None else w - l - r, c)


OPS = [
    OpDef("cropping", "Cropping2D", "Remove rows and columns at the borders of the spatial axes.",
          "{op: cropping, cropping: [[1, 0], [1, 0]]}",
          {"cropping": Attr("padding2d", required=True, minimum=0,
                            doc="c, [ch, cw] or [[top, bottom], [left, right]] rows/columns removed")},
          _crop_shape,
          lambda K, a, n: K.Cropping2D((lambda t, b, l, r: ((t, b), (l, r)))(*pad4(a["cropping"])), name=n),
          summary=lambda a: f"crop {a['cropping']}"),
]

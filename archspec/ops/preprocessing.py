"""Preprocessing that a reference puts inside its model: rescaling and normalization."""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, Weight, same_shape


def _norm_shape(a: dict, s: list[Shape]) -> Shape:
    for key in ("mean", "variance"):
        if a[key] is not None and len(a[key]) not in (1, s[0][-1]):
            raise ShapeError(f"normalization {key} has {len(a[key])} values for {s[0][-1]} channels")
    return s[0]


def _norm_weights(a: dict, s: list[Shape]) -> list[Weight]:
    """Keras stores an unadapted layer's statistics as weights; given ones are constants in its config."""
    if a["mean"] is not None:
        return []
    c = (s[0][-1],)
    return [Weight("mean", c, False), Weight("variance", c, False), Weight("count", (), False)]


def _both_or_neither(a: dict) -> str | None:
    if (a["mean"] is None) != (a["variance"] is None):
        return "normalization needs both mean and variance, or neither (learned by adapt, stored as weights)"
    return None


OPS = [
    OpDef("rescaling", "Rescaling", "x * scale + offset, e.g. pixels [0, 255] to [-1, 1].",
          "{op: rescaling, scale: 1 / 127.5, offset: -1}",
          {"scale": Attr("float", required=True, doc="multiplier"),
           "offset": Attr("float", 0.0, doc="added after scaling")},
          same_shape, lambda K, a, n: K.Rescaling(a["scale"], offset=a["offset"], name=n), fill="#ffe599",
          summary=lambda a: f"x{a['scale']:.4g}" + (f" {a['offset']:+g}" if a["offset"] else "")),
    OpDef("normalization", "Normalization", "(x - mean) / sqrt(variance) per channel; statistics are weights "
          "unless given.", "{op: normalization}",
          {"mean": Attr("floats", None, nullable=True, doc="per-channel mean (null: a weight, as after adapt)"),
           "variance": Attr("floats", None, nullable=True, doc="per-channel variance (null: a weight)")},
          _norm_shape,
          lambda K, a, n: K.Normalization(axis=K.channel_axis, mean=a["mean"], variance=a["variance"], name=n),
          _norm_weights, fill="#ffe599", checks=(_both_or_neither,)),
]

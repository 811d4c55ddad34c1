"""Preprocessing that a reference puts inside its model: rescaling and normalization."""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, ShapeRule, Weight


def _per_channel(op: str, *keys: str) -> ShapeRule:
    """The shape rule of an op whose ``keys`` hold one value for all channels or one per channel."""
    def shape(a: dict, s: list[Shape]) -> Shape:
        for key in keys:
            if isinstance(a[key], list) and len(a[key]) not in (1, s[0][-1]):
                raise ShapeError(f"{op} {key} has {len(a[key])} values for {s[0][-1]} channels")
        return s[0]
    return shape


def _numbers(v: float | list[float]) -> str:
    return "[" + ", ".join(f"{x:.4g}" for x in v) + "]" if isinstance(v, list) else f"{v:.4g}"


def _rescaling_summary(a: dict) -> str:
    offset = a["offset"]
    if not offset:
        return f"x{_numbers(a['scale'])}"
    return f"x{_numbers(a['scale'])} " + (f"+{_numbers(offset)}" if isinstance(offset, list) else f"{offset:+g}")


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
    OpDef("rescaling", "Rescaling", "x * scale + offset, e.g. pixels [0, 255] to [-1, 1]; either may be "
          "per channel.", "{op: rescaling, scale: 1 / 127.5, offset: -1}",
          {"scale": Attr("per_channel", required=True, doc="multiplier: a number, or a list of one per channel"),
           "offset": Attr("per_channel", 0.0, doc="added after scaling: a number, or a list of one per channel")},
          _per_channel("rescaling", "scale", "offset"),
          lambda K, a, n: K.Rescaling(a["scale"], offset=a["offset"], name=n), fill="#ffe599",
          summary=_rescaling_summary),
    OpDef("normalization", "Normalization", "(x - mean) / sqrt(variance) per channel; statistics are weights "
          "unless given.", "{op: normalization}",
          {"mean": Attr("floats", None, nullable=True, doc="per-channel mean (null: a weight, as after adapt)"),
           "variance": Attr("floats", None, nullable=True, doc="per-channel variance (null: a weight)")},
          _per_channel("normalization", "mean", "variance"),
          lambda K, a, n: K.Normalization(axis=K.channel_axis, mean=a["mean"], variance=a["variance"], name=n),
          _norm_weights, fill="#ffe599", checks=(_both_or_neither,)),
]

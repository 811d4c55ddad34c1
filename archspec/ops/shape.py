"""Ops that only rearrange values: reshape."""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, fmt_shape


def _reshape(a: dict, s: list[Shape]) -> Shape:
    target = list(a["target_shape"])
    if any(d == 0 or d < -1 for d in target) or target.count(-1) > 1:
        raise ShapeError(f"reshape target {fmt_shape(tuple(target))} needs positive sizes and at most one -1")
    if any(d is None for d in s[0]):
        if -1 in target:
            raise ShapeError(f"reshape with -1 needs a fixed input size, got {fmt_shape(s[0])}")
        return tuple(target)
    size = 1
    for d in s[0]:
        size *= d
    known = 1
    for d in target:
        known *= d if d != -1 else 1
    if -1 in target:
        if size % known:
            raise ShapeError(f"cannot reshape {fmt_shape(s[0])} into {fmt_shape(tuple(target))}")
        target[target.index(-1)] = size // known
    elif known != size:
        raise ShapeError(f"cannot reshape {fmt_shape(s[0])} ({size} values) into {fmt_shape(tuple(target))}")
    return tuple(target)


OPS = [
    OpDef("reshape", "Reshape", "Reshape without the batch axis (one size may be -1).",
          "{op: reshape, target_shape: [1, 1, -1]}",
          {"target_shape": Attr("ints", required=True, doc="sizes without the batch axis, e.g. [1, 1, C]",
                                minimum=-1)},
          _reshape, lambda K, a, n: K.Reshape(K.feature_shape(a["target_shape"]), name=n), fill="#eeeeee",
          summary=lambda a: "to " + "x".join(map(str, a["target_shape"]))),
]

"""Merges: ops of two or more inputs, taken in the declared order (it decides Keras's layer order)."""

from __future__ import annotations

from typing import Callable

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, fmt_shape


def _same_shapes(op: str) -> Callable[[dict, list[Shape]], Shape]:
    def rule(a: dict, s: list[Shape]) -> Shape:
        first = s[0]
        for other in s[1:]:
            if len(other) != len(first) or any(
                x is not None and y is not None and x != y for x, y in zip(first, other)
            ):
                raise ShapeError(f"{op} inputs must have the same shape, got {', '.join(fmt_shape(x) for x in s)}")
        return tuple(next((d for d in dims if d is not None), None) for dims in zip(*s))

    return rule


def _broadcast(op: str) -> Callable[[dict, list[Shape]], Shape]:
    """NumPy broadcasting of same-rank inputs: (H, W, C) x (1, 1, C) for squeeze-and-excite gates."""
    def rule(a: dict, s: list[Shape]) -> Shape:
        if len({len(x) for x in s}) != 1:
            raise ShapeError(f"{op} inputs must have the same rank, got {', '.join(fmt_shape(x) for x in s)}")
        out = []
        for dims in zip(*s):
            sized = {d for d in dims if d is not None and d != 1}
            if len(sized) > 1:
                raise ShapeError(f"{op} inputs do not broadcast, got {', '.join(fmt_shape(x) for x in s)}")
            out.append(sized.pop() if sized else (None if None in dims else 1))
        return tuple(out)

    return rule


def _concat_shape(a: dict, s: list[Shape]) -> Shape:
    first = s[0]
    for other in s[1:]:
        if len(other) != len(first) or any(
            x is not None and y is not None and x != y for x, y in zip(first[:-1], other[:-1])
        ):
            raise ShapeError("concat inputs must agree on all but the channel axis, got "
                             + ", ".join(fmt_shape(x) for x in s))
    return (*first[:-1], sum(x[-1] for x in s))


_FILL = "#f4cccc"

OPS = [
    OpDef("add", "Add", "Element-wise sum of two or more same-shaped inputs, in order.",
          "{op: add, in: [input, prev]}", {}, _same_shapes("add"),
          lambda K, a, n: K.Add(name=n), min_inputs=2, max_inputs=None, fill=_FILL),
    OpDef("multiply", "Multiply", "Element-wise product, broadcasting size-1 axes: (H, W, C) x (1, 1, C) gates.",
          "{op: multiply, in: [input, prev]}", {}, _broadcast("multiply"),
          lambda K, a, n: K.Multiply(name=n), min_inputs=2, max_inputs=None, fill=_FILL),
    OpDef("concat", "Concatenate", "Concatenation on the channel axis, in order.",
          "{op: concat, in: [input, prev]}", {}, _concat_shape,
          lambda K, a, n: K.Concatenate(axis=K.channel_axis, name=n), min_inputs=2, max_inputs=None, fill="#fce5cd"),
    OpDef("scaled_add", "CustomScaleLayer",
          "Scaled residual x + scale * up (Inception-ResNet, keras.applications' own layer); inputs [x, up] in order.",
          "{op: scaled_add, in: [input, prev], scale: 0.17}",
          {"scale": Attr("float", required=True, doc="multiplier of the second input")},
          _same_shapes("scaled_add"), lambda K, a, n: K.CustomScaleLayer(a["scale"], name=n),
          min_inputs=2, max_inputs=2, fill=_FILL, summary=lambda a: f"scale {a['scale']:g}"),
]

"""Dense, activation, dropout, flatten."""

from __future__ import annotations

from archspec.ops.base import (ACT, USE_BIAS, Attr, OpDef, Shape, ShapeError, TorchLayout, TorchTensor, Weight,
                               fmt_shape, same_shape, vector)


def _dense_shape(a: dict, s: list[Shape]) -> Shape:
    """A vector, or with ``pointwise`` any input: Keras's Dense maps the last axis at every position."""
    if not a["pointwise"]:
        vector(s[0], "dense", "; add a global pool or a flatten first (or set pointwise: true to apply it at "
                              "every position)")
    return (*s[0][:-1], a["units"])


def _dense_macs(a: dict, s: list[Shape], out: Shape) -> int:
    positions = 1
    for d in s[0][:-1]:
        if d is None:
            return 0
        positions *= d
    return positions * s[0][-1] * a["units"]


def _dense_weights(a: dict, s: list[Shape]) -> list[Weight]:
    out = [Weight("kernel", (s[0][-1], a["units"]), initializer="kernel_initializer")]
    return out + [Weight("bias", (a["units"],), initializer="bias_initializer")] if a["use_bias"] else out


def _flatten_shape(a: dict, s: list[Shape]) -> Shape:
    size = 1
    for d in s[0]:
        if d is None:
            raise ShapeError(f"flatten needs a fixed input size, got {fmt_shape(s[0])}; give the input a size")
        size *= d
    return (size,)


def _dropout_shape(a: dict, s: list[Shape]) -> Shape:
    mask = a["noise_shape"]
    if mask is not None:
        if len(mask) != len(s[0]) + 1:
            raise ShapeError(f"dropout noise_shape {mask} needs {len(s[0]) + 1} sizes (batch axis first) "
                             f"for an input of shape {fmt_shape(s[0])}")
        for m, d in zip(mask[1:], s[0]):
            if m is not None and m != 1 and d is not None and m != d:
                raise ShapeError(f"dropout noise_shape {mask} does not broadcast to {fmt_shape(s[0])}")
    return s[0]


OPS = [
    OpDef(
        "dense", "Dense", "Fully connected layer on a vector (with `pointwise`, on the last axis of a feature map).",
        "{op: dense, units: classes, activation: softmax}",
        {
            "units": Attr("int", required=True, doc="output units", minimum=1),
            "use_bias": USE_BIAS,
            "activation": ACT,
            "pointwise": Attr("bool", False, doc="accept a feature map (H, W, C) and map C to units at every "
                                                 "position, as Keras's Dense does (a 1x1 convolution, ConvNeXt)"),
        },
        _dense_shape,
        lambda K, a, n: K.Dense(a["units"], use_bias=a["use_bias"], activation=a["activation"], name=n),
        _dense_weights, _dense_macs, fill="#d9d2e9",
        torch=TorchLayout((TorchTensor("kernel", "weight", "dense"), TorchTensor("bias", "bias"))),
    ),
    OpDef("activation", "Activation", "Element-wise activation.", "{op: activation, activation: relu}",
          {"activation": Attr("activation", required=True, doc="activation function name")},
          same_shape, lambda K, a, n: K.Activation(a["activation"], name=n), fill="#fff2cc"),
    OpDef("relu", "ReLU", "ReLU as its own layer class, with an optional cap (ReLU6 is max_value 6).",
          "{op: relu, max_value: 6}",
          {"max_value": Attr("float", None, nullable=True, doc="cap on the output (null: none)", minimum=0),
           "negative_slope": Attr("float", 0.0, doc="slope below the threshold", minimum=0),
           "threshold": Attr("float", 0.0, doc="values below it are scaled by negative_slope")},
          same_shape, lambda K, a, n: K.ReLU(max_value=a["max_value"], negative_slope=a["negative_slope"],
                                             threshold=a["threshold"], name=n), fill="#fff2cc",
          summary=lambda a: "relu" + (f" max {a['max_value']:g}" if a["max_value"] is not None else "")),
    OpDef("dropout", "Dropout", "Dropout (identity at inference).", "{op: dropout, rate: 0.5}",
          {"rate": Attr("float", required=True, doc="fraction of units dropped while training",
                        minimum=0, maximum=0.999999),
           "noise_shape": Attr("dims", None, nullable=True, minimum=1,
                               doc="shape of the drop mask with the batch axis, null for an input-sized one; "
                                   "[null, 1, 1, 1] drops whole samples (stochastic depth)")},
          _dropout_shape,
          lambda K, a, n: K.Dropout(a["rate"], noise_shape=None if a["noise_shape"] is None
                                    else tuple(a["noise_shape"]), name=n), fill="#eeeeee"),
    OpDef("flatten", "Flatten", "A feature map (H, W, C) as one vector (H*W*C,), in channels-last order.",
          "{op: flatten, name: flatten}", {}, _flatten_shape, lambda K, a, n: K.Flatten(name=n), fill="#eeeeee"),
]

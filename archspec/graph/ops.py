"""The op registry: each op is one definition of its attributes, shape rule, parameters and MACs.

A backend adds one emitter per op (see ``archspec/backend/keras_emitters.py``). The JSON Schema's
per-op attribute checks are generated from this table (``python -m archspec.spec.schema_gen``).

Shapes are channels-last tuples without the batch axis: ``(H, W, C)`` for feature maps and ``(C,)``
for vectors. ``H``/``W`` may be ``None`` when the input size is left open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Shape = tuple


@dataclass(frozen=True)
class Weight:
    """One weight tensor of a layer, in the order Keras stores it (kernel, bias; gamma, beta, mean, var)."""

    name: str
    shape: tuple
    trainable: bool = True

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


class ShapeError(ValueError):
    """An op cannot accept its inputs; the builder adds the spec location."""


ACTIVATIONS = (
    "relu", "relu6", "sigmoid", "softmax", "tanh", "linear", "elu", "selu", "gelu", "swish", "silu",
    "hard_sigmoid", "softplus", "softsign", "exponential", "leaky_relu", "mish", "log_softmax",
)


@dataclass(frozen=True)
class Attr:
    """An op attribute: its kind (for checking and the schema), default, and a one-line description."""

    kind: str  # int | float | bool | str | activation | size2 | padding2d | choice
    default: Any = None
    required: bool = False
    choices: tuple = ()
    doc: str = ""
    nullable: bool = False
    minimum: float | None = None


@dataclass(frozen=True)
class OpDef:
    name: str
    keras_class: str
    auto_prefix: str
    doc: str
    attrs: dict[str, Attr]
    shape: Callable[[dict, list[Shape]], Shape]
    weights: Callable[[dict, list[Shape]], list[Weight]] = lambda a, s: []
    macs: Callable[[dict, list[Shape], Shape], int] = lambda a, s, o: 0
    min_inputs: int = 1
    max_inputs: int | None = 1


# ---------------------------------------------------------------------------------------------- helpers

def pair(v: Any) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``[1, 7]`` -> ``(1, 7)``."""
    if isinstance(v, (list, tuple)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def pad4(v: Any) -> tuple[int, int, int, int]:
    """ZeroPadding2D forms: ``p``, ``[ph, pw]`` or ``[[top, bottom], [left, right]]``."""
    if isinstance(v, (list, tuple)):
        if isinstance(v[0], (list, tuple)):
            return int(v[0][0]), int(v[0][1]), int(v[1][0]), int(v[1][1])
        return int(v[0]), int(v[0]), int(v[1]), int(v[1])
    return (int(v),) * 4


def _spatial(shape: Shape, op: str) -> tuple:
    if len(shape) != 3:
        raise ShapeError(f"{op} needs a feature map (H, W, C), got {fmt_shape(shape)}")
    return shape


def _window(n: int | None, k: int, s: int, padding: str, d: int = 1, what: str = "") -> int | None:
    if n is None:
        return None
    if padding == "same":
        out = -(-n // s)
    else:
        out = (n - d * (k - 1) - 1) // s + 1
    if out < 1:
        raise ShapeError(
            f"spatial size collapses: {what} of size {k} (stride {s}, padding {padding}) on an input of size {n}"
        )
    return out


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _hw(shape: Shape) -> int | None:
    return None if shape[0] is None or shape[1] is None else shape[0] * shape[1]


# ---------------------------------------------------------------------------------------------- rules

def _conv_shape(a: dict, s: list[Shape]) -> Shape:
    h, w, _ = _spatial(s[0], "conv2d")
    kh, kw = pair(a["kernel_size"])
    sh, sw = pair(a["strides"])
    dh, dw = pair(a["dilation_rate"])
    return (
        _window(h, kh, sh, a["padding"], dh, "a kernel"),
        _window(w, kw, sw, a["padding"], dw, "a kernel"),
        a["filters"],
    )


def _conv_weights(a: dict, s: list[Shape]) -> list[Weight]:
    kh, kw = pair(a["kernel_size"])
    out = [Weight("kernel", (kh, kw, s[0][2], a["filters"]))]
    return out + [Weight("bias", (a["filters"],))] if a["use_bias"] else out


def _dense_weights(a: dict, s: list[Shape]) -> list[Weight]:
    out = [Weight("kernel", (s[0][0], a["units"]))]
    return out + [Weight("bias", (a["units"],))] if a["use_bias"] else out


def _conv_macs(a: dict, s: list[Shape], out: Shape) -> int:
    kh, kw = pair(a["kernel_size"])
    hw = _hw(out)
    return 0 if hw is None else kh * kw * s[0][2] * a["filters"] * hw


def _bn_weights(a: dict, s: list[Shape]) -> list[Weight]:
    c = (s[0][-1],)
    learned = [Weight("gamma", c)] if a["scale"] else []
    learned += [Weight("beta", c)] if a["center"] else []
    return learned + [Weight("moving_mean", c, False), Weight("moving_variance", c, False)]


def _pool_shape(name: str) -> Callable[[dict, list[Shape]], Shape]:
    def rule(a: dict, s: list[Shape]) -> Shape:
        h, w, c = _spatial(s[0], name)
        kh, kw = pair(a["pool_size"])
        sh, sw = pair(a["strides"] if a["strides"] is not None else a["pool_size"])
        return _window(h, kh, sh, a["padding"], 1, "a pool"), _window(w, kw, sw, a["padding"], 1, "a pool"), c

    return rule


def _pad_shape(a: dict, s: list[Shape]) -> Shape:
    h, w, c = _spatial(s[0], "zero_pad")
    t, b, l, r = pad4(a["padding"])
    return (None if h is None else h + t + b, None if w is None else w + l + r, c)


def _global_shape(a: dict, s: list[Shape]) -> Shape:
    return (_spatial(s[0], "global pooling")[2],)


def _same_shapes(op: str) -> Callable[[dict, list[Shape]], Shape]:
    def rule(a: dict, s: list[Shape]) -> Shape:
        first = s[0]
        for other in s[1:]:
            if len(other) != len(first) or any(
                x is not None and y is not None and x != y for x, y in zip(first, other)
            ):
                raise ShapeError(
                    f"{op} inputs must have the same shape, got {', '.join(fmt_shape(x) for x in s)}"
                )
        return tuple(next((d for d in dims if d is not None), None) for dims in zip(*s))

    return rule


def _concat_shape(a: dict, s: list[Shape]) -> Shape:
    first = s[0]
    for other in s[1:]:
        if len(other) != len(first) or any(
            x is not None and y is not None and x != y for x, y in zip(first[:-1], other[:-1])
        ):
            raise ShapeError(
                "concat inputs must agree on all but the channel axis, got "
                + ", ".join(fmt_shape(x) for x in s)
            )
    return (*first[:-1], sum(x[-1] for x in s))


def _dense_shape(a: dict, s: list[Shape]) -> Shape:
    if len(s[0]) != 1:
        raise ShapeError(f"dense needs a vector input (C,), got {fmt_shape(s[0])}; add a global pool first")
    return (a["units"],)


_ACT = Attr("activation", None, nullable=True, doc="activation applied after the op (null for none)")
_PAD = Attr("choice", "valid", choices=("valid", "same"), doc="'valid' (no padding) or 'same'")

OPS: dict[str, OpDef] = {}


def _register(op: OpDef) -> None:
    OPS[op.name] = op


_register(OpDef(
    "conv2d", "Conv2D", "conv2d", "2-D convolution.",
    {
        "filters": Attr("int", required=True, doc="output channels", minimum=1),
        "kernel_size": Attr("size2", required=True, doc="kernel size: k or [kh, kw]", minimum=1),
        "strides": Attr("size2", 1, doc="stride: s or [sh, sw]", minimum=1),
        "padding": _PAD,
        "dilation_rate": Attr("size2", 1, doc="dilation: d or [dh, dw]", minimum=1),
        "use_bias": Attr("bool", True, doc="add a bias vector"),
        "activation": _ACT,
    },
    _conv_shape, _conv_weights, _conv_macs,
))
_register(OpDef(
    "dense", "Dense", "dense", "Fully connected layer on a vector.",
    {
        "units": Attr("int", required=True, doc="output units", minimum=1),
        "use_bias": Attr("bool", True, doc="add a bias vector"),
        "activation": _ACT,
    },
    _dense_shape, _dense_weights, lambda a, s, o: s[0][0] * a["units"],
))
_register(OpDef(
    "batch_norm", "BatchNormalization", "batch_normalization", "Batch normalization over channels.",
    {
        "epsilon": Attr("float", 1e-3, doc="variance epsilon", minimum=0),
        "momentum": Attr("float", 0.99, doc="moving-average momentum"),
        "scale": Attr("bool", True, doc="learn gamma"),
        "center": Attr("bool", True, doc="learn beta"),
    },
    lambda a, s: s[0], _bn_weights,
))
_register(OpDef(
    "activation", "Activation", "activation", "Element-wise activation.",
    {"activation": Attr("activation", required=True, doc="activation function name")},
    lambda a, s: s[0],
))
_register(OpDef(
    "zero_pad", "ZeroPadding2D", "zero_padding2d", "Zero padding of the spatial axes.",
    {"padding": Attr("padding2d", 1, doc="p, [ph, pw] or [[top, bottom], [left, right]]", minimum=0)},
    _pad_shape,
))
_POOL_ATTRS = {
    "pool_size": Attr("size2", 2, doc="window: k or [kh, kw]", minimum=1),
    "strides": Attr("size2", None, nullable=True, doc="stride (default: pool_size)", minimum=1),
    "padding": _PAD,
}
_register(OpDef("max_pool", "MaxPooling2D", "max_pooling2d", "Max pooling.", _POOL_ATTRS,
                _pool_shape("max_pool")))
_register(OpDef("avg_pool", "AveragePooling2D", "average_pooling2d", "Average pooling.", _POOL_ATTRS,
                _pool_shape("avg_pool")))
_register(OpDef("global_avg_pool", "GlobalAveragePooling2D", "global_average_pooling2d",
                "Average over H and W, giving a vector.", {}, _global_shape))
_register(OpDef("global_max_pool", "GlobalMaxPooling2D", "global_max_pooling2d",
                "Max over H and W, giving a vector.", {}, _global_shape))
_register(OpDef("dropout", "Dropout", "dropout", "Dropout (identity at inference).",
                {"rate": Attr("float", required=True, doc="fraction of units dropped while training", minimum=0)},
                lambda a, s: s[0]))
_register(OpDef("add", "Add", "add", "Element-wise sum of two or more same-shaped inputs, in order.", {},
                _same_shapes("add"), min_inputs=2, max_inputs=None))
_register(OpDef("concat", "Concatenate", "concatenate", "Concatenation on the channel axis, in order.", {},
                _concat_shape, min_inputs=2, max_inputs=None))
_register(OpDef(
    "scaled_add", "ScaledAdd", "scaled_add",
    "Scaled residual x + scale * up (Inception-ResNet); inputs are [x, up] in that order.",
    {"scale": Attr("float", required=True, doc="multiplier of the second input")},
    _same_shapes("scaled_add"), min_inputs=2, max_inputs=2,
))



def coerce(attr: Attr, value: Any) -> Any:
    """Check a resolved attribute value against its kind; returns the canonical value.

    Integral floats are accepted where integers are expected (``in_channels * 0.5``), other
    mismatches raise ``ValueError`` with a message naming what was expected.
    """
    if value is None:
        if attr.nullable:
            return None
        raise ValueError("must not be null")
    kind = attr.kind
    if kind == "int":
        out = _as_int(value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {value!r}")
        out = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    elif kind == "activation":
        if value not in ACTIVATIONS:
            raise ValueError(f"unknown activation {value!r}")
        return value
    elif kind == "choice":
        if value not in attr.choices:
            raise ValueError(f"must be one of {', '.join(map(repr, attr.choices))}, got {value!r}")
        return value
    elif kind == "size2":
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError(f"must be an integer or a list of two integers, got {value!r}")
            out = [_as_int(v) for v in value]
        else:
            out = _as_int(value)
    elif kind == "padding2d":
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError(f"must be p, [ph, pw] or [[top, bottom], [left, right]], got {value!r}")
            if all(isinstance(v, list) for v in value):
                if any(len(v) != 2 for v in value):
                    raise ValueError(f"must be [[top, bottom], [left, right]], got {value!r}")
                out = [[_as_int(x) for x in v] for v in value]
            else:
                out = [_as_int(v) for v in value]
        else:
            out = _as_int(value)
    else:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {value!r}")
        return value
    if attr.minimum is not None:
        flat = out if isinstance(out, list) else [out]
        flat = [x for v in flat for x in (v if isinstance(v, list) else [v])]
        if any(x < attr.minimum for x in flat):
            raise ValueError(f"must be at least {attr.minimum:g}, got {value!r}")
    return out


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be an integer, got {value!r}")
        return int(value)
    return value

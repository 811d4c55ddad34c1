"""What an op record is made of, and the shape arithmetic that op records share.

An op is one :class:`OpDef`: its attributes, shape rule, weights manifest (with the Keras initializer
behind each weight), MACs, the Keras layer it becomes, how it is drawn and summarised, and its
documentation row. Everything else (the JSON Schema, the docs' op table, the builder, the checker, the
Keras backend, the DOT export) reads the record; nothing keeps a per-op table of its own.

Shapes are channels-last tuples without the batch axis: ``(H, W, C)`` for feature maps and ``(C,)``
for vectors. ``H``/``W`` may be ``None`` when the input size is left open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from archspec.ops.kinds import Attr  # noqa: F401 - op modules import it from here with the rest of a record

Shape = tuple


class ShapeError(ValueError):
    """An op cannot accept its inputs; the builder adds the spec location."""


@dataclass(frozen=True)
class Weight:
    """One weight tensor of a layer, in the order Keras stores it (kernel, bias; gamma, beta, mean, var).

    ``initializer`` is the attribute of the Keras layer that fills it (``kernel_initializer``,
    ``depthwise_initializer``, ...), so a build that loads every weight from a file can skip drawing
    random numbers for it.
    """

    name: str
    shape: tuple
    trainable: bool = True
    initializer: str | None = None

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class TorchTensor:
    """One Keras weight filled from a PyTorch tensor: the Keras weight's name, the tensor's name under the
    layer's checkpoint key (``conv1`` + ``weight`` is ``conv1.weight``; empty: the key names the tensor itself, a
    parameter held by the module, as ConvNeXt's ``features.1.0.layer_scale``), and how the axes map
    (:data:`TORCH_LAYOUTS`)."""

    keras: str
    torch: str
    layout: str = "same"


@dataclass(frozen=True)
class TorchLayout:
    """How a PyTorch module's ``state_dict`` entries become the op's Keras weights (``OpDef.torch``):
    ``tensors`` in any order, ``ignored`` tensors the module stores that Keras has no place for."""

    tensors: tuple[TorchTensor, ...]
    ignored: tuple[str, ...] = ()


def _depthwise_torch_shape(k: tuple) -> tuple:
    return (k[2] * k[3], 1, k[0], k[1])


# layout -> (the PyTorch tensor's shape for a Keras weight shape, the Keras array from the PyTorch array);
# the arrays are numpy's, used through their methods only (this layer imports no numpy)
TORCH_LAYOUTS: dict[str, tuple[Callable[[tuple], tuple], Callable[[Any, tuple], Any]]] = {
    "same": (lambda k: k, lambda a, k: a),
    # nn.Conv2d (out, in/groups, kh, kw) -> Conv2D (kh, kw, in/groups, out)
    "conv": (lambda k: (k[3], k[2], k[0], k[1]), lambda a, k: a.transpose(2, 3, 1, 0)),
    # nn.Conv2d with groups=C (C*M, 1, kh, kw), output c*M + m from input c -> DepthwiseConv2D (kh, kw, C, M)
    "depthwise": (_depthwise_torch_shape, lambda a, k: a.reshape(k[2], k[3], k[0], k[1]).transpose(2, 3, 0, 1)),
    # nn.Linear (out, in) -> Dense (in, out)
    "dense": (lambda k: (k[1], k[0]), lambda a, k: a.transpose(1, 0)),
    # a per-channel parameter kept broadcastable over (C, H, W), torchvision's ConvNeXt layer_scale (C, 1, 1) -> (C,)
    "channel_column": (lambda k: (k[0], 1, 1), lambda a, k: a.reshape(k)),
}


ShapeRule = Callable[[dict, list[Shape]], Shape]
WeightsRule = Callable[[dict, list[Shape]], list[Weight]]
MacsRule = Callable[[dict, list[Shape], Shape], int]
# (namespace, attrs, name) -> an unbuilt Keras layer; for an op with ``layer=False``, a function of the input
# tensor(s) that applies the named Keras operation (the namespace is then the backend's keras.ops classes)
KerasRule = Callable[[Any, dict, str], Any]


def no_weights(attrs: dict, shapes: list[Shape]) -> list[Weight]:
    return []


def no_macs(attrs: dict, shapes: list[Shape], out: Shape) -> int:
    return 0


def same_shape(attrs: dict, shapes: list[Shape]) -> Shape:
    return shapes[0]


@dataclass(frozen=True)
class OpDef:
    """One op, complete: a test fails when any part is missing (``tests/ops/test_records.py``)."""

    name: str
    keras_class: str  # the Keras class it emits; its snake_case is the auto-name prefix, as in Keras
    doc: str  # one line, for the schema and the docs' op table
    example: str  # one YAML step, shown in the docs' op table and built by a test
    attrs: dict[str, Attr]
    shape: ShapeRule
    keras: KerasRule
    weights: WeightsRule = no_weights
    macs: MacsRule = no_macs
    min_inputs: int = 1
    max_inputs: int | None = 1
    fill: str = "#ffffff"  # node colour in DOT pictures
    summary: Callable[[dict], str] | None = None  # what a picture shows of the attrs; default: key_attrs
    checks: tuple[Callable[[dict], str | None], ...] = field(default=())  # cross-attribute rules
    # False: a Keras operation (``x + 3.0``), not a layer: a node of the functional graph that counts for
    # Keras's layer order and auto-names, but is not in ``model.layers`` (so never in a weight file)
    layer: bool = True
    # how many of the inputs the Keras node reads, in order (None: all); the others only give a size, read from
    # their shape when the model is built (``resize_like``), so Keras's graph and its layer order skip them
    keras_inputs: int | None = None
    # how a PyTorch checkpoint's tensors fill the weights (docs/pytorch.md); None: not from a checkpoint
    torch: TorchLayout | None = None

    @property
    def auto_prefix(self) -> str:
        """Keras's default layer name for the class (``Conv2D`` -> ``conv2d``)."""
        return snake_case(self.keras_class)

    def describe(self, attrs: dict) -> str:
        return (self.summary or key_attrs)(attrs)

    def arity(self) -> str:
        lo, hi = self.min_inputs, self.max_inputs
        return f"{lo}" if hi == lo else f"at least {lo}" if hi is None else f"{lo} to {hi}"

    def check_arity(self, n: int) -> str | None:
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            return f"op '{self.name}' takes {self.arity()} input(s), got {n}"
        return None


@lru_cache(maxsize=1024)
def snake_case(name: str) -> str:
    """Keras's ``to_snake_case`` (``BatchNormalization`` -> ``batch_normalization``); asked once per layer."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# ------------------------------------------------------------------------------------------ arithmetic

def pair(v: Any) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``[1, 7]`` -> ``(1, 7)``."""
    if isinstance(v, (list, tuple)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def pad4(v: Any) -> tuple[int, int, int, int]:
    """Padding forms: ``p``, ``[ph, pw]`` or ``[[top, bottom], [left, right]]``."""
    if isinstance(v, (list, tuple)):
        if isinstance(v[0], (list, tuple)):
            return int(v[0][0]), int(v[0][1]), int(v[1][0]), int(v[1][1])
        return int(v[0]), int(v[0]), int(v[1]), int(v[1])
    return (int(v),) * 4


def fmt_shape(shape: Shape) -> str:
    """``(56, 56, 256)``; ``?`` for an open size. The one shape format of diagnostics."""
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def spatial(shape: Shape, op: str) -> tuple:
    if len(shape) != 3:
        raise ShapeError(f"{op} needs a feature map (H, W, C), got {fmt_shape(shape)}")
    return shape


def vector(shape: Shape, op: str, hint: str = "") -> tuple:
    if len(shape) != 1:
        raise ShapeError(f"{op} needs a vector input (C,), got {fmt_shape(shape)}{hint}")
    return shape


def window(n: int | None, k: int, s: int, padding: str, d: int = 1, what: str = "") -> int | None:
    """Output length of a sliding window (Keras's rule for 'valid' and 'same')."""
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


def stride_or_dilation(attrs: dict) -> str | None:
    """Cross-attribute check shared by the convolutions: Keras refuses a stride and a dilation together."""
    if pair(attrs["strides"]) != (1, 1) and pair(attrs["dilation_rate"]) != (1, 1):
        return "strides and dilation_rate cannot both be above 1 (Keras refuses the combination)"
    return None


def area(shape: Shape) -> int | None:
    """H * W of a feature map, or None when open."""
    return None if shape[0] is None or shape[1] is None else shape[0] * shape[1]


def key_attrs(attrs: dict) -> str:
    """The few attributes worth a glance in a picture: filters, kernel, stride, units, activation, ..."""
    parts = []
    for key in ("filters", "units"):
        if key in attrs:
            parts.append(str(attrs[key]))
    for key in ("kernel_size", "pool_size"):
        if key in attrs:
            kh, kw = pair(attrs[key])
            parts.append(f"{kh}x{kw}")
    strides = attrs.get("strides")
    if strides is not None and pair(strides) != (1, 1):
        sh, sw = pair(strides)
        parts.append(f"/{sh}" if sh == sw else f"/{sh}x{sw}")
    if attrs.get("activation"):
        parts.append(str(attrs["activation"]))
    if "rate" in attrs:
        parts.append(f"rate {attrs['rate']:g}")
    return " ".join(parts)


# ------------------------------------------------------------------------------------------ values

ACT = Attr("activation", None, nullable=True, doc="activation applied after the op (null for none)")
PADDING = Attr("choice", "valid", choices=("valid", "same"), doc="'valid' (no padding) or 'same'")
# the window attributes the convolutions share (conv2d, conv2d_transpose, depthwise/separable)
KERNEL_SIZE = Attr("size2", required=True, doc="kernel size: k or [kh, kw]", minimum=1)
STRIDES = Attr("size2", 1, doc="stride: s or [sh, sw]", minimum=1)
DILATION = Attr("size2", 1, doc="dilation: d or [dh, dw]", minimum=1)
USE_BIAS = Attr("bool", True, doc="add a bias vector")

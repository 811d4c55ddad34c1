"""Element-wise arithmetic with a constant, as Keras *operations* rather than layers (``layer=False``).

keras.applications writes some arithmetic on tensors directly, e.g. MobileNetV3's hard sigmoid
``layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)``: ``x + 3.0`` records a ``keras.ops`` ``Add`` operation in the
functional graph (one node, auto-named ``add``, ``add_1``, ... from the counters layers use too), which
is not in ``model.layers``, has no weights and is not in weight files. These ops emit exactly that
operation, named, with the tensor first and the constant second (``x + c``, ``x * c``).
"""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, same_shape

_FILL = "#e6f4ea"


def _apply(op_class: str):
    """The Keras rule of a scalar op: ``x <op> value`` as one named operation of class ``op_class``."""
    def rule(K, a: dict, n: str):
        operation = getattr(K, op_class)(name=n)
        return lambda x: operation(x, a["value"])

    return rule


OPS = [
    OpDef("add_scalar", "Add",
          "x + value, as `x + 3.0` on a Keras tensor: in the functional graph, not in model.layers.",
          "{op: add_scalar, value: 3.0}",
          {"value": Attr("float", required=True, doc="the constant added to every element")},
          same_shape, _apply("Add"), fill=_FILL, layer=False, summary=lambda a: f"x + {a['value']:g}"),
    OpDef("multiply_scalar", "Multiply",
          "x * value, as `x * 0.5` on a Keras tensor: in the functional graph, not in model.layers.",
          "{op: multiply_scalar, value: 1 / 6}",
          {"value": Attr("float", required=True, doc="the constant every element is multiplied by")},
          same_shape, _apply("Multiply"), fill=_FILL, layer=False, summary=lambda a: f"x * {a['value']:.4g}"),
]

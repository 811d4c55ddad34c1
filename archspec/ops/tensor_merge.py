"""Merges of two tensors written as Keras *operations*, not layers (``layer=False``).

keras.applications' ConvNeXt ends each block with ``inputs + layer(x)``: arithmetic on two Keras tensors
records a ``keras.ops`` operation (``Add``, auto-named ``add``, ``add_1``, ... from the counters layers share),
a node of the functional graph that is not in ``model.layers`` and has no weights. These records emit exactly
that node, the inputs in the order written (``x + y`` with ``in: [x, y]``); the ``add``/``multiply`` records
emit the layers instead.
"""

from __future__ import annotations

from archspec.ops.base import OpDef
from archspec.ops.merge import _broadcast, _same_shapes

_FILL = "#e6f4ea"


def _apply(op_class: str):
    """The Keras rule: ``x <op> y`` as one named operation of class ``op_class``, inputs in order."""
    def rule(K, a: dict, n: str):
        operation = getattr(K, op_class)(name=n)
        return lambda xs: operation(xs[0], xs[1])

    return rule


OPS = [
    OpDef("add_tensors", "Add",
          "x + y on two same-shaped Keras tensors (a residual `inputs + x`): in the functional graph, not in "
          "model.layers.",
          "{op: add_tensors, in: [input, prev]}", {}, _same_shapes("add_tensors"), _apply("Add"),
          min_inputs=2, max_inputs=2, fill=_FILL, layer=False, summary=lambda a: "x + y"),
    OpDef("multiply_tensors", "Multiply",
          "x * y on two Keras tensors, broadcasting size-1 axes: in the functional graph, not in model.layers.",
          "{op: multiply_tensors, in: [input, prev]}", {}, _broadcast("multiply_tensors"), _apply("Multiply"),
          min_inputs=2, max_inputs=2, fill=_FILL, layer=False, summary=lambda a: "x * y"),
]

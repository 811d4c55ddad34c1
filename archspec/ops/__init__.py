"""The op registry: every module of this package lists its ops in ``OPS``; each op is one record.

Adding an op is adding one :class:`~archspec.ops.base.OpDef` to a module here (or a new module), then
``python -m archspec.lang.schema_gen > archspec/lang/schema.json`` and ``python -m archspec.ops.table --write
docs/spec-language.md`` to refresh the schema and the docs' op table. Pure Python: the
Keras rule of a record receives the layer namespace from the backend, so nothing here imports Keras.
"""

from __future__ import annotations

import importlib
import pkgutil

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, Weight, fmt_shape
from archspec.ops.kinds import ACTIVATIONS, KINDS, coerce


_NOT_OPS = {"base", "kinds", "table", "plugins"}  # the record types, the docs table, the plug-in loader (docs/plugins.md)


def _collect() -> dict[str, OpDef]:
    found: dict[str, OpDef] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_OPS:
            continue
        for op in importlib.import_module(f"{__name__}.{info.name}").OPS:
            if op.name in found:
                raise RuntimeError(f"op {op.name!r} is defined twice (archspec.ops.{info.name})")
            found[op.name] = op
    return dict(sorted(found.items()))


OPS: dict[str, OpDef] = _collect()

__all__ = ["ACTIVATIONS", "KINDS", "OPS", "Attr", "OpDef", "Shape", "ShapeError", "Weight", "coerce", "fmt_shape"]

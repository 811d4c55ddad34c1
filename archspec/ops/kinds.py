"""Attribute kinds: one :class:`KindDef` record per kind of op attribute value.

A record says everything the rest of archspec asks about a kind: how a resolved value is checked and
made canonical (``check``), what the JSON Schema accepts before expressions are evaluated (``schema``),
whether a bare word there is a name to look up rather than a literal string (``numeric``), which words a
misspelt value is compared against for a did-you-mean (``words``), and whether the attribute's
``minimum``/``maximum`` apply to its numbers (``bounded``). A new kind is one record in :data:`KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

ACTIVATIONS = (
    "relu", "relu6", "sigmoid", "softmax", "tanh", "linear", "elu", "selu", "gelu", "swish", "silu",
    "hard_sigmoid", "hard_silu", "hard_swish", "softplus", "softsign", "exponential", "leaky_relu", "mish",
    "log_softmax",
)

EXPR = {"type": "string", "description": "an expression, e.g. '4 * filters' or 'in_channels'"}


@dataclass(frozen=True)
class KindDef:
    """One kind of attribute value (see the module docstring)."""

    name: str
    check: Callable[[Any, Attr], Any]  # the canonical value of a non-null value, or ValueError
    schema: Callable[[Attr], dict]  # what the JSON Schema accepts (null and the description added by the caller)
    numeric: bool  # a bare word is a name (an unknown one is an error), not a literal string
    words: Callable[[Attr], tuple[str, ...]] = lambda attr: ()  # a did-you-mean's candidates
    bounded: bool = False  # Attr.minimum/maximum apply to every number of the value


@dataclass(frozen=True)
class Attr:
    """An op attribute: its kind (a name in :data:`KINDS`, the record that checks its values and gives its
    schema), default, and a one-line description."""

    kind: str
    default: Any = None
    required: bool = False
    choices: tuple = ()
    doc: str = ""
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown attribute kind {self.kind!r}; kinds: {', '.join(KINDS)}")

    @property
    def kind_def(self) -> KindDef:
        return KINDS[self.kind]


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be an integer, got {value!r}")
        return int(value)
    return value


def _floats(value: Any, expected: str) -> list[float]:
    if not isinstance(value, list) or not value or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise ValueError(f"must be {expected}, got {value!r}")
    return [float(v) for v in value]


def _float(value: Any, attr: Attr) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {value!r}")
    return float(value)


def _bool(value: Any, attr: Attr) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _activation(value: Any, attr: Attr) -> str:
    if value not in ACTIVATIONS:
        raise ValueError(f"unknown activation {value!r}")
    return value


def _choice(value: Any, attr: Attr) -> Any:
    if value not in attr.choices:
        raise ValueError(f"must be one of {', '.join(map(repr, attr.choices))}, got {value!r}")
    return value


def _size2(value: Any, attr: Attr) -> int | list[int]:
    if isinstance(value, list):
        if len(value) != 2:
            raise ValueError(f"must be an integer or a list of two integers, got {value!r}")
        return [_as_int(v) for v in value]
    return _as_int(value)


def _ints(value: Any, attr: Attr) -> list[int]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of integers, got {value!r}")
    return [_as_int(v) for v in value]


def _dims(value: Any, attr: Attr) -> list[int | None]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of integers or nulls, got {value!r}")
    return [None if v is None else _as_int(v) for v in value]


def _per_channel(value: Any, attr: Attr) -> float | list[float]:
    if isinstance(value, list):
        return _floats(value, "a number or a non-empty list of numbers")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number or a non-empty list of numbers, got {value!r}")
    return float(value)


def _padding2d(value: Any, attr: Attr) -> int | list:
    if isinstance(value, list):
        if len(value) != 2:
            raise ValueError(f"must be p, [ph, pw] or [[top, bottom], [left, right]], got {value!r}")
        if all(isinstance(v, list) for v in value):
            if any(len(v) != 2 for v in value):
                raise ValueError(f"must be [[top, bottom], [left, right]], got {value!r}")
            return [[_as_int(x) for x in v] for v in value]
        return [_as_int(v) for v in value]
    return _as_int(value)


def _str(value: Any, attr: Attr) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


def _list_of(item: str) -> Callable[[Attr], dict]:
    return lambda attr: {"anyOf": [{"type": "array", "items": {"type": [item, "string"]}, "minItems": 1}, EXPR]}


KINDS: dict[str, KindDef] = {k.name: k for k in (
    KindDef("int", lambda v, a: _as_int(v), lambda a: {"anyOf": [{"type": "integer"}, EXPR]}, numeric=True,
            bounded=True),
    KindDef("float", _float, lambda a: {"anyOf": [{"type": "number"}, EXPR]}, numeric=True, bounded=True),
    KindDef("bool", _bool, lambda a: {"anyOf": [{"type": "boolean"}, EXPR]}, numeric=True),
    KindDef("size2", _size2, lambda a: {"anyOf": [{"type": "integer"}, {"type": "array", "items": {
        "type": ["integer", "string"]}, "minItems": 2, "maxItems": 2}, EXPR]}, numeric=True, bounded=True),
    KindDef("padding2d", _padding2d, lambda a: {"anyOf": [{"type": "integer"}, {"type": "array", "minItems": 2,
                                                                              "maxItems": 2}, EXPR]},
            numeric=True, bounded=True),
    KindDef("ints", _ints, _list_of("integer"), numeric=True, bounded=True),
    KindDef("floats", lambda v, a: _floats(v, "a non-empty list of numbers"), _list_of("number"), numeric=True),
    # a shape with open sizes, e.g. Keras' noise_shape (None, 1, 1, 1)
    KindDef("dims", _dims, lambda a: {"anyOf": [{"type": "array", "items": {"type": ["integer", "null", "string"]},
                                                 "minItems": 1}, EXPR]}, numeric=True, bounded=True),
    # one number for every channel, or one per channel (the op's shape rule checks how many)
    KindDef("per_channel", _per_channel, lambda a: {"anyOf": [{"type": "number"}, {"type": "array", "items": {
        "type": ["number", "string"]}, "minItems": 1}, EXPR]}, numeric=True),
    KindDef("choice", _choice, lambda a: {"anyOf": [{"enum": list(a.choices)}, {"type": "string"}]}, numeric=False,
            words=lambda a: a.choices),
    KindDef("activation", _activation, lambda a: {"anyOf": [{"enum": list(ACTIVATIONS)}, {"type": "string"}]},
            numeric=False, words=lambda a: ACTIVATIONS),
    KindDef("str", _str, lambda a: {"type": "string"}, numeric=False),
)}


def coerce(attr: Attr, value: Any) -> Any:
    """Check a resolved attribute value against its kind; returns the canonical value.

    Integral floats are accepted where integers are expected (``in_channels * 0.5``), other
    mismatches raise ``ValueError`` with a message naming what was expected.
    """
    if value is None:
        if attr.nullable:
            return None
        raise ValueError("must not be null")
    kind = KINDS[attr.kind]
    out = kind.check(value, attr)
    if kind.bounded:
        flat = [x for x in _flat(out) if x is not None]
        if attr.minimum is not None and any(x < attr.minimum for x in flat):
            raise ValueError(f"must be at least {attr.minimum:g}, got {value!r}")
        if attr.maximum is not None and any(x > attr.maximum for x in flat):
            raise ValueError(f"must be at most {attr.maximum:g}, got {value!r}")
    return out


def _flat(value: Any) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]

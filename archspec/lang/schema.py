"""Validate one spec file against the shipped JSON Schema and turn errors into located diagnostics."""

from __future__ import annotations

import json
import re
import reprlib
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Iterable

from archspec.errors import Diagnostic, did_you_mean
from archspec.lang.rules import unknown_op
from archspec.lang.yaml_loader import Document, json_pointer


def schema_text() -> str:
    """The shipped schema, as printed by ``archspec schema``; with op plug-ins loaded, one that has their ops."""
    from archspec.ops.plugins import generation

    if generation():
        from archspec.lang.schema_gen import build_schema

        return json.dumps(build_schema(), indent=1)
    return resources.files("archspec.lang").joinpath("schema.json").read_text(encoding="utf-8")


if TYPE_CHECKING:  # pragma: no cover
    import jsonschema


def validator() -> jsonschema.protocols.Validator:
    """The compiled validator, built once per process (and again after a plug-in adds ops)."""
    from archspec.ops.plugins import generation

    return _validator(generation())


@lru_cache(maxsize=1)
def _validator(generation: int) -> jsonschema.protocols.Validator:
    import jsonschema

    schema = _schema(generation)
    cls = jsonschema.validators.validator_for(schema)
    return jsonschema.validators.extend(cls, {"if": _fast_if(cls.VALIDATORS["if"]), "allOf": _all_of})(schema)


def _all_of(validator: Any, all_of: list, instance: Any, schema: dict) -> Iterable[jsonschema.ValidationError]:
    """jsonschema's ``allOf``, skipping the branches that are only an ``if``/``then`` whose condition fails
    (such a branch yields nothing): a step meets one generated ``if: {op: NAME}`` branch per op, and
    descending into each was about a sixth of the schema check."""
    for index, subschema in enumerate(all_of):
        if isinstance(subschema, dict) and "if" in subschema and subschema.keys() <= {"if", "then"} and \
                _simple_if(subschema["if"], instance) is False:
            continue
        yield from validator.descend(instance, subschema, schema_path=index)


def _fast_if(general: Callable) -> Callable:
    """jsonschema's ``if`` keyword, deciding the generated per-op tests without a sub-validator.

    Every step is tested against one ``if: {properties: {op: {const: NAME}}, required: [op]}`` per op;
    answering those with a dict lookup halves schema-check time. Other conditions go to ``general``.
    """

    def if_(validator: Any, if_schema: Any, instance: Any, schema: dict) -> Iterable[jsonschema.ValidationError]:
        verdict = _simple_if(if_schema, instance)
        if verdict is None:
            yield from general(validator, if_schema, instance, schema)
        elif verdict:
            if "then" in schema:
                yield from validator.descend(instance, schema["then"], schema_path="then")
        elif "else" in schema:
            yield from validator.descend(instance, schema["else"], schema_path="else")

    return if_


def _simple_if(if_schema: Any, instance: Any) -> bool | None:
    """``is_valid`` for conditions made only of ``required`` names and string ``const`` properties."""
    if not isinstance(if_schema, dict) or not set(if_schema) <= {"properties", "required"}:
        return None
    props, required = if_schema.get("properties", {}), if_schema.get("required", [])
    if not (isinstance(props, dict) and all(isinstance(p, dict) and set(p) == {"const"} and
                                            isinstance(p["const"], str) for p in props.values())
            and isinstance(required, list) and all(isinstance(r, str) for r in required)):
        return None
    if not isinstance(instance, dict):  # both keywords ignore non-objects
        return True
    return all(r in instance for r in required) and all(
        k not in instance or instance[k] == p["const"] for k, p in props.items())


def check(doc: Document) -> list[Diagnostic]:
    """All schema problems in ``doc``, one diagnostic each, most specific first-by-position."""
    if accepts(doc.data):  # the common case, decided without importing jsonschema
        return []
    diags = [_to_diagnostic(doc, err) for err in _leaf_errors(validator().iter_errors(doc.data))]
    unique = {(d.location, d.message): d for d in diags}
    return sorted(unique.values(), key=lambda d: (d.location.line or 0, d.location.col or 0, d.message))


def _leaf_errors(errors: Iterable[jsonschema.ValidationError]) -> Iterable[jsonschema.ValidationError]:
    """For anyOf/oneOf failures pick the branch that got furthest rather than dumping all of them."""
    import jsonschema

    for err in errors:
        if err.validator in ("anyOf", "oneOf") and err.context:
            # the branch whose type fits the value failed for a reason worth showing; when every branch
            # rejects the type, the parent error (rendered as "expected X or Y") says it best
            fitting = [e for e in err.context if e.validator not in ("type", "enum", "const")]
            best = jsonschema.exceptions.best_match(fitting) if fitting else None
            if best is not None:
                yield from _leaf_errors([best])
                continue
        yield err


# PyTorch pooling arguments that the language writes as a step of their own: the unknown key gets the spelling
POOLING_AS_STEPS = {
    "ceil_mode": "PyTorch's ceil_mode=True is a `pad` step (value: -.inf, stride - 1 more rows and columns at the "
                 "bottom/right) before the pool; docs/spec-language.md, 'Pooling as PyTorch pads it'",
    "count_include_pad": "count_include_pad=True is a `zero_pad` step before the pool ('same' padding is "
                         "count_include_pad=False); docs/spec-language.md, 'Pooling as PyTorch pads it'",
}


def _to_diagnostic(doc: Document, err: jsonschema.ValidationError) -> Diagnostic:
    path = tuple(err.absolute_path)
    pointer = json_pointer(path)
    loc = doc.where(path)
    hint = None
    message = err.message
    if err.validator == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        extras = [k for k in err.instance if k not in err.schema.get("properties", {})]
        key = extras[0] if extras else ""
        loc = doc.where(path + (key,), key=True)
        pointer = json_pointer(path + (key,))
        what = _describe(path, err.instance)
        message = f"unknown key '{_clip(key)}'{what}"
        hint = (POOLING_AS_STEPS.get(key) or did_you_mean(key, known)
                or ("allowed: " + ", ".join(k for k in known if k != "op")))
    elif err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        message = f"missing required key '{missing}'{_describe(path, err.instance)}"
    elif err.validator == "pattern" and "propertyNames" in err.schema_path:
        loc = doc.where(path + (err.instance,), key=True)
        pointer = json_pointer(path + (err.instance,))
        where = f" in '{_clip(path[-1])}'" if path and isinstance(path[-1], str) else ""
        message = f"invalid key {_clip(err.instance)!r}{where}: keys here must match {err.validator_value}"
        if path and path[-1] == "at":
            hint = "use 'first', 'last' or a 1-based index (negative counts from the end)"
    elif err.validator == "enum" and path and path[-1] == "op":
        message = f"unknown op {_value(err.instance)}"
        hint = unknown_op(err.instance).hint
    elif err.validator == "enum":
        message = f"{_value(err.instance)} is not one of {', '.join(map(repr, err.validator_value))}"
        hint = did_you_mean(str(err.instance), map(str, err.validator_value))
    elif err.validator in ("minItems", "maxItems"):
        what = f"'{path[-1]}'" if path and isinstance(path[-1], str) else "value"
        short, bound = ("short", "at least") if err.validator == "minItems" else ("long", "at most")
        message = f"{what}: {_value(err.instance)} is too {short} ({bound} {err.validator_value} items)"
    elif err.validator == "minimum":
        what = f"'{path[-1]}'" if path and isinstance(path[-1], str) else "value"
        message = f"{what}: {_value(err.instance)} is less than the minimum of {err.validator_value}"
    elif err.validator == "const":
        what = f"'{path[-1]}' " if path and isinstance(path[-1], str) else ""
        message = f"{what}must be {err.validator_value!r}, got {_value(err.instance)}"
    elif err.validator == "not" and "op" in json.dumps(err.validator_value):
        message = "a step has either 'op' or 'use', not both"
    elif err.validator == "type":
        expected = err.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"expected {expected}, got {_json_type(err.instance)}"
    elif err.validator in ("anyOf", "oneOf"):
        types = [t for e in err.context if e.validator == "type" and len(e.relative_path) == 0
                 for t in ([e.validator_value] if isinstance(e.validator_value, str) else e.validator_value)]
        expected = " or ".join(dict.fromkeys(types)) if types else "another value"
        message = f"expected {expected}, got {_json_type(err.instance)} {_short(err.instance)}" + (
            f" ({err.schema['description']})" if "description" in err.schema else ""
        )
    return Diagnostic(_clip(message, 400), loc, pointer, hint)


# ------------------------------------------------------------------------------------------ valid documents
# Most documents are valid, and saying so needs no messages: a plain walk of the keywords the generated schema
# uses (draft 2020-12 semantics, as jsonschema applies them) decides it without importing jsonschema (60 ms of
# every cold start) and in a fraction of its time. Any other keyword, a $ref outside the schema, or a value
# this walk does not compare exactly (a list or mapping against const/enum) leaves the verdict to jsonschema,
# which also writes every message. tests/benchmarks/test_fast_paths.py holds both to the same verdicts.

@lru_cache(maxsize=1)
def _schema(generation: int) -> dict:
    return json.loads(schema_text())


class _Undecided(Exception):
    """The walk cannot decide this document exactly: jsonschema does."""


def accepts(instance: Any) -> bool:
    """Whether ``instance`` is valid under the schema (False: invalid, or not decided without jsonschema)."""
    from archspec.ops.plugins import generation

    root = _schema(generation())
    try:
        return _valid(root, instance, root)
    except (_Undecided, RecursionError):
        return False


_ANNOTATIONS = frozenset(("description", "title", "$schema", "$id", "$defs", "default", "examples", "then", "else"))
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def _valid(schema: Any, v: Any, root: dict) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict):
        raise _Undecided
    for key, arg in schema.items():
        if key in _ANNOTATIONS:
            continue
        check = _KEYWORDS.get(key)
        if check is None:
            raise _Undecided
        if not check(arg, v, schema, root):
            return False
    return True


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality on scalars: true and 1 differ, 1 and 1.0 do not."""
    if not (_scalar(a) and _scalar(b)):
        raise _Undecided
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _type(arg: Any, v: Any, schema: dict, root: dict) -> bool:
    names = [arg] if isinstance(arg, str) else arg
    if not all(t in _TYPES for t in names):
        raise _Undecided
    return any(_TYPES[t](v) for t in names)


def _ref(arg: Any, v: Any, schema: dict, root: dict) -> bool:
    if not (isinstance(arg, str) and arg.startswith("#/$defs/") and arg[8:] in root.get("$defs", {})):
        raise _Undecided
    return _valid(root["$defs"][arg[8:]], v, root)


def _properties(arg: dict, v: Any, schema: dict, root: dict) -> bool:
    return not isinstance(v, dict) or all(_valid(arg[k], x, root) for k, x in v.items() if k in arg)


def _additional(arg: Any, v: Any, schema: dict, root: dict) -> bool:
    if "patternProperties" in schema:
        raise _Undecided
    known = schema.get("properties", {})
    return not isinstance(v, dict) or all(_valid(arg, x, root) for k, x in v.items() if k not in known)


def _if(arg: Any, v: Any, schema: dict, root: dict) -> bool:
    branch = "then" if _valid(arg, v, root) else "else"
    return branch not in schema or _valid(schema[branch], v, root)


def _unique(arg: Any, v: Any, schema: dict, root: dict) -> bool:
    if not arg or not isinstance(v, list):
        return True
    return all(not _equal(a, b) for i, a in enumerate(v) for b in v[i + 1:])


_KEYWORDS: dict[str, Callable[[Any, Any, dict, dict], bool]] = {
    "type": _type,
    "$ref": _ref,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": lambda arg, v, s, r: not isinstance(v, dict) or all(k in v for k in arg),
    "propertyNames": lambda arg, v, s, r: not isinstance(v, dict) or all(_valid(arg, k, r) for k in v),
    "items": lambda arg, v, s, r: not isinstance(v, list) or all(_valid(arg, x, r) for x in v),
    "minItems": lambda arg, v, s, r: not isinstance(v, list) or len(v) >= arg,
    "maxItems": lambda arg, v, s, r: not isinstance(v, list) or len(v) <= arg,
    "uniqueItems": _unique,
    "minLength": lambda arg, v, s, r: not isinstance(v, str) or len(v) >= arg,
    "pattern": lambda arg, v, s, r: not isinstance(v, str) or re.search(arg, v) is not None,
    "minimum": lambda arg, v, s, r: not _TYPES["number"](v) or v >= arg,
    "const": lambda arg, v, s, r: _equal(v, arg),
    "enum": lambda arg, v, s, r: any(_equal(v, e) for e in arg),
    "anyOf": lambda arg, v, s, r: any(_valid(x, v, r) for x in arg),
    "allOf": lambda arg, v, s, r: all(_valid(x, v, r) for x in arg),
    "not": lambda arg, v, s, r: not _valid(arg, v, r),
    "if": _if,
}


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlist = _REPR.maxdict = 8


def _value(value: Any) -> str:
    """``repr(value)`` with long strings, numbers and lists cut short, at a cost bounded by what it shows."""
    return _REPR.repr(value)


def _clip(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters: a message never carries a whole (possibly huge) value."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(path: tuple, instance: Any) -> str:
    if isinstance(instance, dict) and "op" in instance:
        return f" for op '{_clip(instance['op'])}'"
    if not path:
        return " at the top level"
    return f" in '{_clip(path[-1])}'" if isinstance(path[-1], str) else ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."

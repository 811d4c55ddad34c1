"""Validate one spec file against the shipped JSON Schema and turn errors into located diagnostics."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import jsonschema

from archspec.errors import Diagnostic, did_you_mean
from archspec.spec.yaml_loader import Document, json_pointer


def schema_text() -> str:
    """The shipped schema, as printed by ``archspec schema``."""
    return resources.files("archspec.spec").joinpath("schema.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def validator() -> jsonschema.protocols.Validator:
    """The compiled validator, built once per process and reused for every file."""
    schema = json.loads(schema_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def check(doc: Document) -> list[Diagnostic]:
    """All schema problems in ``doc``, one diagnostic each, most specific first-by-position."""
    diags = [_to_diagnostic(doc, err) for err in _leaf_errors(validator().iter_errors(doc.data))]
    unique = {(d.location, d.message): d for d in diags}
    return sorted(unique.values(), key=lambda d: (d.location.line or 0, d.location.col or 0, d.message))


def _leaf_errors(errors: Iterable[jsonschema.ValidationError]) -> Iterable[jsonschema.ValidationError]:
    """For anyOf/oneOf failures pick the branch that got furthest rather than dumping all of them."""
    for err in errors:
        if err.validator in ("anyOf", "oneOf") and err.context:
            best = jsonschema.exceptions.best_match(err.context)
            # a type mismatch in every branch is best described by the parent error
            if best is not None and best.validator not in ("type", "enum", "const"):
                yield from _leaf_errors([best])
                continue
        yield err


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
        message = f"unknown key '{key}'{what}"
        hint = did_you_mean(key, known) or ("allowed: " + ", ".join(k for k in known if k != "op"))
    elif err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        message = f"missing required key '{missing}'{_describe(path, err.instance)}"
    elif err.validator == "propertyNames":
        message = f"invalid key {err.instance!r}: keys here must match {err.validator_value.get('pattern')}"
    elif err.validator == "enum":
        message = f"{err.instance!r} is not one of {', '.join(map(repr, err.validator_value))}"
        hint = did_you_mean(str(err.instance), map(str, err.validator_value))
    elif err.validator == "const":
        message = f"{err.instance!r} must be {err.validator_value!r}"
    elif err.validator == "not" and "op" in json.dumps(err.validator_value):
        message = "a step has either 'op' or 'use', not both"
    elif err.validator == "type":
        expected = err.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"expected {expected}, got {_json_type(err.instance)}"
    elif err.validator in ("anyOf", "oneOf"):
        message = f"invalid value {_short(err.instance)}" + (
            f": {err.schema['description']}" if "description" in err.schema else ""
        )
    return Diagnostic(message, loc, pointer, hint)


def _describe(path: tuple, instance: Any) -> str:
    if isinstance(instance, dict) and "op" in instance:
        return f" for op '{instance['op']}'"
    if not path:
        return " at the top level"
    return f" in '{path[-1]}'" if isinstance(path[-1], str) else ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."

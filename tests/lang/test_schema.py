"""The shipped JSON Schema is current and helps editors: descriptions everywhere, typos rejected."""

from __future__ import annotations

import json

import jsonschema

from archspec.lang.schema import schema_text, validator
from archspec.lang.schema_gen import build_schema


def test_shipped_schema_is_up_to_date() -> None:
    assert json.loads(schema_text()) == build_schema(), (
        "run: python -m archspec.lang.schema_gen > archspec/lang/schema.json")


def test_schema_is_valid_and_built_once() -> None:
    schema = json.loads(schema_text())
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert validator() is validator()


def _properties(node: object, path: str = ""):
    if isinstance(node, dict):
        for key, value in (node.get("properties") or {}).items():
            if isinstance(value, dict):
                yield f"{path}/{key}", value
        for key, value in node.items():
            yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{path}/{i}")


def test_every_property_has_a_description_for_editor_completion() -> None:
    missing = [path for path, prop in _properties(build_schema())
               if "description" not in prop and "$ref" not in prop and not path.endswith("/op")]
    assert not missing


def test_typo_prone_objects_reject_unknown_keys() -> None:
    schema = build_schema()
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["template"]["additionalProperties"] is False
    assert schema["properties"]["head"]["additionalProperties"] is False
    assert schema["properties"]["defaults"]["additionalProperties"] is False
    conv = next(c["then"] for c in schema["$defs"]["step"]["else"]["allOf"]
                if c["if"]["properties"]["op"]["const"] == "conv2d")
    assert conv["additionalProperties"] is False


def test_the_schema_and_the_rulebook_know_the_same_step_keys() -> None:
    """The schema describes each key the rulebook lets a step have (besides 'op' and 'use', which choose it)."""
    from archspec.lang.rules import STEP_META
    from archspec.lang.schema_gen import STEP_KEYS

    assert {"op", "use", *STEP_KEYS} == set(STEP_META)

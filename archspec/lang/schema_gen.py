"""Generate the shipped JSON Schema from the op registry, so an op is defined in one place.

Run ``python -m archspec.lang.schema_gen > archspec/lang/schema.json`` after changing ``graph/ops.py``;
a test fails when the shipped file is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from archspec.ops import OPS, Attr
from archspec.ops.kinds import EXPR

SCHEMA_ID = "https://archspec.dev/schema/v1.json"
IDENT = "^[A-Za-z_][A-Za-z0-9_]*$"
CARRIED_NAME = {"pattern": IDENT, "not": {"enum": ["input", "prev"]}}  # a value name 'carry' binds

# the schema of each key a step may have besides 'op'/'use' (lang.rules.STEP_META names them all)
STEP_KEYS: dict[str, Any] = {
    "name": {"type": ["string", "null"], "description": "layer name template, e.g. '{block}_1_conv'; null or "
             "a null field gives a deterministic auto-name"},
    "in": {"description": "input(s) by symbolic name: 'input' (the block input), 'prev' (previous step) or an "
           "'as' name; a list for merges, in merge order",
           "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
    "as": {"type": "string", "pattern": IDENT, "description": "bind this step's output to a symbolic name"},
    "if": {"type": ["boolean", "string"], "description": "condition; when false the step passes its input through"},
    "else": {"type": "string", "description": "with 'if': the value a skipped step yields instead of its input "
             "('input', 'prev' or an 'as' name), e.g. an identity shortcut when a projection is skipped"},
    "branches": {"type": "array", "description": "parallel branches from this step's input, merged by this op "
                 "in order; an empty branch is the input itself",
                 "items": {"$ref": "#/$defs/steps"}},
    "doc": {"type": "string", "description": "free text"},
    "checkpoint": {"type": ["string", "null"], "description": "the checkpoint key (a PyTorch module path, a name "
                   "template like 'layer{n}.{i - 1}.conv1') whose tensors fill this layer's weights when the "
                   "network declares a checkpoint family; null: none (docs/pytorch.md)"},
    "output": {"type": ["string", "null"], "minLength": 1, "description": "this step's value is the model output "
               "of this name (a name template; null: no output); a network with named outputs returns a dict of them"},
    "tap": {"type": "boolean", "description": "a feature tap: the last tapped value at each stride 2^k is the "
            "pyramid level 'P{k}' that build(features=...) returns"},
}


# a nested layer: {sequential: [steps], name: ...} emits its steps as one keras.Sequential
SEQUENTIAL: dict[str, Any] = {"type": "array", "items": {"$ref": "#/$defs/step"}, "minItems": 1,
                              "description": "steps emitted as ONE nested layer (a keras.Sequential named by "
                                             "'name'): a chain, each step taking the previous one's output"}
NESTED_KEYS = ("name", "in", "as", "if", "else", "doc", "output", "tap")


def attr_schema(attr: Attr) -> dict[str, Any]:
    """Schema for one attribute value (its kind's record); strings are always allowed (expressions, names)."""
    base = attr.kind_def.schema(attr)
    if attr.nullable:
        base = {"anyOf": [{"type": "null"}, *base.get("anyOf", [base])]}
    desc = attr.doc + ("" if attr.default is None and attr.required else f" (default: {json.dumps(attr.default)})")
    return {**base, "description": desc}


def op_attrs_schema(op_name: str) -> dict[str, Any]:
    return {name: attr_schema(a) for name, a in OPS[op_name].attrs.items()}


def build_schema() -> dict[str, Any]:
    op_names = sorted(OPS)
    op_checks = []
    for name in op_names:
        props = {"op": {"const": name}, **STEP_KEYS, **op_attrs_schema(name)}
        op_checks.append({
            "if": {"properties": {"op": {"const": name}}, "required": ["op"]},
            "then": {"properties": props, "additionalProperties": False},
        })
    step = {
        "type": "object",
        "description": "one op ({op: conv2d, ...}) or one template call ({use: bottleneck, ...})",
        "properties": {
            "op": {"enum": op_names, "description": "op type: " + ", ".join(op_names)},
            "use": {"type": "string", "pattern": IDENT, "description": "name of a template to call"},
            "sequential": SEQUENTIAL,
            **STEP_KEYS,
        },
        "if": {"anyOf": [{"required": ["use"]}, {"required": ["sequential"]}]},
        "then": {
            "if": {"required": ["use"]},
            "then": {"not": {"anyOf": [{"required": ["op"]}, {"required": ["sequential"]}]}},
            "else": {"properties": {"sequential": SEQUENTIAL, **{k: STEP_KEYS[k] for k in NESTED_KEYS}},
                     "additionalProperties": False},
        },
        "else": {"required": ["op"], "allOf": op_checks},
    }
    carry = {"type": "object", "propertyNames": CARRIED_NAME, "additionalProperties": {"type": "string"}}
    stage = {
        "type": "object",
        "description": "a stage: a template ('block') or an inline 'body', repeated; other keys are the "
                       "template's parameters",
        "properties": {
            "block": {"type": "string", "pattern": IDENT, "description": "template repeated by this stage"},
            "body": {"$ref": "#/$defs/steps", "description": "inline steps (instead of 'block')"},
            "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, EXPR], "description": "repeat count (default 1)"},
            "block_name": {"type": "string", "description": "name of each repeat, default '{stage}_block{i}'"},
            "at": {
                "type": "object",
                "description": "per-repeat parameter overrides keyed by 'first', 'last' or a 1-based index "
                               "(negative counts from the end); an entry may also name the repeat's template ('block') "
                               "and values carried after it ('carry')",
                "propertyNames": {"pattern": "^(first|last|-?[1-9][0-9]*)$"},
                "additionalProperties": {"type": "object", "properties": {
                    "carry": {**carry, "description": "after this repeat's block, name -> one of its values, as "
                                                      "the stage's 'carry'"}}},
            },
            "doc": {"type": "string", "description": "free text"},
            "carry": {**carry,
                      "description": "after each block, name -> one of its values ('input', 'prev' = its output, an "
                                     "'as' name, a carried value), visible to later blocks (NASNet's previous path)"},
        },
    }
    defaults = {
        "type": "object",
        "description": "default attributes per op for the whole network, e.g. {batch_norm: {epsilon: 1.001e-5}}",
        "additionalProperties": False,
        "properties": {
            name: {"type": "object", "additionalProperties": False, "properties": op_attrs_schema(name),
                   "description": f"default attributes of every '{name}' step"}
            for name in op_names
        },
    }
    template = {
        "type": "object",
        "additionalProperties": False,
        "required": ["body"],
        "properties": {
            "doc": {"type": "string", "description": "free text: what the block is, where it comes from"},
            "required": {"type": "array", "items": {"type": "string", "pattern": IDENT},
                         "description": "parameters without a default"},
            "params": {"type": "object", "propertyNames": {"pattern": IDENT},
                       "description": "parameters and their defaults"},
            "carried": {"type": "array", "items": {"type": "string", **CARRIED_NAME},
                        "description": "values the body reads besides 'input': carried by earlier stages ('carry'), "
                                       "or, in a 'use' call, the caller's values of those names"},
            "tensors": {"type": "array", "items": {"type": "string", **CARRIED_NAME},
                        "description": "tensor parameters: each call passes one of its values by name ('input', "
                                       "'prev', an 'as' name, a carried value), which the body reads by the "
                                       "parameter's name (a decoder block's skip)"},
            "body": {"$ref": "#/$defs/steps"},
        },
    }
    published_file = {
        "type": "object", "additionalProperties": False,
        "description": "one weight file (file and url are needed once extends is applied); each value is a "
                       "name template over vars, rows and cols (and file, in url and hash); docs/validation.md, "
                       "'Published weights: the trust policy'",
        "properties": {
            "file": {"type": "string", "description": "a plain file name (letters, digits, _ . + -), as in the "
                                                      "Keras cache ($KERAS_HOME/models)"},
            "url": {"type": "string", "description": "where it is published: https:// only, e.g. 'https://.../{file}'"},
            "hash": {"type": ["string", "null"], "description": "its md5 or sha256 (lowercase hex), checked before "
                                                                "the download is kept; null only in bundled specs"},
        },
    }
    published = {
        "type": "object", "propertyNames": {"pattern": IDENT},
        "description": "published weight files by name: build(spec, weights='imagenet') loads one from the "
                       "Keras cache or downloads it over HTTPS",
        "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "if": {"type": ["boolean", "string"],
                       "description": "expression: the options the files exist for (false: a located error)"},
                "doc": {"type": "string", "description": "which options have published files (the error's hint)"},
                "sizes": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1,
                          "maxItems": 64, "uniqueItems": True,
                          "description": "square input sizes the top file exists for besides the spec's input "
                                         "(keras's default_size: MobileNet 128, 160, 192)"},
                "top": {**published_file, "description": "the file with the classifier (include_top=True)"},
                "notop": {**published_file, "description": "the file without it (include_top=False)"},
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "archspec spec v1",
        "description": "A convolutional network (or a library of block templates) as data. "
                       "See docs/spec-language.md.",
        "type": "object",
        "required": ["archspec"],
        # a network needs its input and stages unless it extends another spec; a library needs neither
        "if": {"anyOf": [{"required": ["extends"]},
                         {"properties": {"kind": {"const": "library", "description": "a library"}},
                          "required": ["kind"]}]},
        "else": {"required": ["input", "stages"]},
        "additionalProperties": False,
        "properties": {
            "archspec": {"const": 1, "description": "format version"},
            "kind": {"enum": ["network", "library"], "description": "'library' files only hold templates"},
            "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.-]*$", "description": "model name"},
            "description": {"type": "string", "description": "free text: what this network or library is"},
            "extends": {"type": "string", "description": "spec this one overrides (path relative to this file)"},
            "imports": {"type": "array", "items": {"type": "string"},
                        "description": "template libraries (paths relative to this file)"},
            "input": {"type": "array", "minItems": 3, "maxItems": 3,
                      "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
                      "description": "input shape [height, width, channels]; null leaves a size open"},
            "checkpoint": {"type": "string", "description": "the checkpoint family whose tensors the steps' "
                           "'checkpoint' keys name, e.g. 'torchvision' (docs/pytorch.md)"},
            "checkpoint_optional": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},
                                    "description": "checkpoint module paths whose tensors only a build with an option "
                                                   "takes, each with that option (aux1: 'the auxiliary "
                                                   "classifiers: --set vars.aux_logits=true'): the plan reports "
                                                   "them as not used by this build (docs/pytorch.md)"},
            "min_input": {"type": "integer", "minimum": 1,
                          "description": "smallest input height and width the family accepts (keras.applications' "
                                         "min_size); build refuses a smaller input_shape"},
            "input_multiple": {"type": "integer", "minimum": 1,
                               "description": "input height and width must be multiples of this (a decoder merging "
                                              "upsampled maps with the encoder's, e.g. 32); validate and build refuse "
                                              "other sizes"},
            "variable_input": {"type": "boolean",
                               "description": "without the top and without an input_shape, build leaves the input's "
                                              "height and width open (default true, as keras.applications); false "
                                              "keeps 'input' (a network whose structure depends on the size)"},
            "preprocessing": {"enum": ["caffe", "tf", "torch", "unit", "none"],
                              "description": "input preprocessing the weights expect (Keras preprocess_input mode)"},
            "channels_first": {"type": "boolean",
                               "description": "false: the family refuses keras.config.image_data_format() "
                                              "'channels_first', as keras.applications' DenseNet does (default true)"},
            "published": published,
            "vars": {"type": "object", "propertyNames": {"pattern": IDENT},
                     "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
                     "description": "network-wide values usable in expressions (e.g. classes, growth_rate)"},
            "defaults": defaults,
            "templates": {"type": "object", "propertyNames": {"pattern": IDENT},
                          "additionalProperties": {"$ref": "#/$defs/template"},
                          "description": "reusable blocks by name, used by a stage's 'block' or a step's 'use'"},
            "stages": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
                       "additionalProperties": {"$ref": "#/$defs/stage"},
                       "description": "the body, in order; keys name the stages"},
            "head": {
                "type": "object",
                "additionalProperties": False,
                "description": "classifier: 'top' when include_top, else 'avg'/'max' for pooling, else 'none' "
                               "(optional: steps after the last stage of a model without top or pooling)",
                "properties": {k: {"$ref": "#/$defs/steps"} for k in ("top", "avg", "max", "none")},
            },
        },
        "$defs": {
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "step": step,
            "stage": stage,
            "template": template,
        },
    }


def main() -> None:
    json.dump(build_schema(), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""The rulebook: the language's vocabulary and every rule of it, each written once.

A rule is a small function that returns a :class:`Problem` (or a list of them) or nothing. The static
checker (:mod:`archspec.lang.checks`) calls the rules on what it can see without expanding and collects
every problem; the builder (:mod:`archspec.graph.builder`) calls the same rules on concrete values and
stops at the first. So a spec is rejected by both for the same reason, with the same message, at the
same place (``tests/lang/test_agreement.py`` holds them to it).

``Problem.at`` is a path *below* the spec path the caller asked about; the caller adds its own path
and turns the problem into a located :class:`~archspec.errors.Diagnostic`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Collection, Iterable

from archspec.errors import did_you_mean
from archspec.limits import Limits
from archspec.ops import OPS, Attr, OpDef, coerce

# ------------------------------------------------------------------------------------------ vocabulary
STEP_META = ("op", "use", "name", "in", "as", "if", "else", "branches", "doc", "checkpoint", "output", "tap")
CALL_META = ("use", "in", "as", "if", "else", "doc", "output", "tap")
STAGE_META = ("block", "body", "repeat", "block_name", "at", "doc", "carry")
AT_META = ("block", "carry")  # keys of an 'at' entry that are not the repeat's parameters
RESERVED = ("input", "prev")  # value names a step cannot bind with 'as'
REPEAT_NAMES = ("i", "repeat", "first", "last", "letter")
INHERITED = (*REPEAT_NAMES, "stage", "block")  # visible inside nested templates
SHAPE_VARS = ("in_channels", "in_height", "in_width")
OPTION_NAMES = ("classes", "include_top", "pooling", "classifier_activation", "weights")
OPTION_DEFAULTS = {"include_top": True, "pooling": None, "classifier_activation": "softmax", "classes": 1000,
                   "weights": None}
HEADS = ("top", "avg", "max", "none")  # include_top; else pooling avg, max, or None (optional: no tail)
# checkpoint families a network can map (top-level `checkpoint:`); each names PyTorch state_dict tensors, which
# the op records' `torch` layouts turn into Keras weights (docs/pytorch.md): a family is only a key-naming convention.
CHECKPOINT_FAMILIES = ("torchvision", "timm")


@dataclass(frozen=True)
class Problem:
    """What a rule found: the message, where below the asked-about path, a hint, key or value."""

    message: str
    at: tuple = ()
    hint: str | None = None
    key: bool = False


def at_repeats(keys: Iterable[Any], repeat: int) -> dict[int, list[str]]:
    """Repeat index -> the ``at`` keys (``first``, ``last``, ``N`` or ``-N``) naming it, in written order:
    one pass over the keys, so a stage with thousands of keys and repeats costs their sum, not their product."""
    found: dict[int, list[str]] = {}
    for which in keys:
        index = {"first": 1, "last": repeat}.get(which) or at_index(which)
        if index is not None:
            found.setdefault(index if index > 0 else repeat + 1 + index, []).append(which)
    return found


def at_index(which: Any) -> int | None:
    """The repeat index an ``at`` key names, or None for first/last and anything that is not a short integer."""
    text = str(which).strip()
    digits = text[1:] if text[:1] in "+-" else text
    if which in ("first", "last") or not digits.isdigit() or len(digits) > 9:
        return None
    return int(text)


# ------------------------------------------------------------------------------------------ network
def builtin_vars(vars_: dict) -> list[Problem]:
    reserved = {*INHERITED, *RESERVED, *SHAPE_VARS}
    return [Problem(f"'{bad}' is a built-in name and cannot be a var", (bad,), key=True)
            for bad in sorted(set(vars_) & reserved)]


def input_shape(shape: Any, limits: Limits) -> Problem | None:
    """``[height, width, channels]``: sizes may be open (null), the channel count may not, and no size is
    larger than ``int_bits`` allows (a size of 2**70 would make every count after it meaningless)."""
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        return Problem(f"input must be [height, width, channels], got {shape!r}")
    if shape[2] is None:
        return Problem("the input's channel count cannot be open (null): every layer's weights depend on it",
                       (2,))
    for i, size in enumerate(shape):
        problem = int_bits(f"input size {size}" if len(str(size)) <= 40 else "an input size", size, limits)
        if problem:
            return Problem(problem.message, (i,))
    return None


def input_multiple(shape: Any, multiple: Any, minimum: Any = None) -> Problem | None:
    """``input_multiple``: a network whose decoder adds or concatenates upsampled maps to the encoder's (a
    U-Net, a feature pyramid, YOLO's neck) works only at sizes its deepest stride divides, as its reference
    requires. An open size passes (it is checked where it is known); the message names the nearest sizes
    that work (at least ``min_input``)."""
    if not isinstance(multiple, int) or isinstance(multiple, bool) or multiple < 1 \
            or not isinstance(shape, (list, tuple)) or len(shape) != 3:
        return None
    dims = [d if isinstance(d, int) and not isinstance(d, bool) else None for d in shape[:2]]
    if all(d is None or d % multiple == 0 for d in dims):
        return None
    floor = max(multiple, minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else 1)
    below = [d if d is None or d % multiple == 0 else d // multiple * multiple for d in dims]
    above = [d if d is None or d % multiple == 0 else (d // multiple + 1) * multiple for d in dims]

    def size(ds: list) -> str:
        return "x".join("?" if d is None else str(d) for d in ds)

    near = [size(ds) for ds in (below, above) if all(d is None or d >= floor for d in ds)]
    return Problem(f"input size {size(dims)} is not a multiple of {multiple} (input_multiple: {multiple}); the "
                   f"nearest valid {'sizes are' if len(near) > 1 else 'size is'} {' and '.join(near)}",
                   hint="pad or resize the images to such a size")


def params_total(total: int, limits: Limits) -> Problem | None:
    """Weights are float32: a network beyond the limit would not fit in memory when built."""
    if total > limits.params:
        return Problem(f"the network has more than {limits.params:,} parameters ({4 * limits.params / 2**30:.0f} GiB "
                       f"as float32) at this layer (limit 'params')")
    return None


def stage_form(key: str, stage: dict) -> Problem | None:
    if ("block" in stage) == ("body" in stage):
        return Problem(f"stage '{key}' needs exactly one of 'block' (a template) or 'body' (inline steps)")
    return None


def inline_stage_keys(key: str, stage: dict) -> list[Problem]:
    if "body" not in stage or "block" in stage:
        return []
    return [Problem(f"unknown key '{k}' in inline stage '{key}'", (k,), did_you_mean(k, STAGE_META), key=True)
            for k in stage if k not in STAGE_META]


def repeat_count(repeat: int, limits: Limits) -> Problem | None:
    if repeat < 1:
        return Problem(f"repeat must be at least 1, got {repeat}")
    if repeat > limits.repeat:
        return Problem(f"repeat {repeat} exceeds the limit of {limits.repeat} (limit 'repeat')")
    return None


def at_key(which: Any, repeat: int | None) -> Problem | None:
    """An ``at`` key is first, last, or an index within the repeat count (``repeat`` None: not known yet)."""
    if which in ("first", "last"):
        return None
    index = at_index(which)
    if index is None:
        shown = str(which) if len(str(which)) <= 20 else str(which)[:20] + "..."
        return Problem(f"'at' key {shown!r} is not first, last or a repeat index", key=True)
    if repeat is not None and not 1 <= abs(index) <= repeat:
        return Problem(f"'at' index {which} is outside 1..{repeat}", key=True)
    return None


def head_exists(head: Any, which: str) -> Problem | None:
    if isinstance(head, dict) and which not in head:
        return Problem(f"this spec has no head for {'include_top' if which == 'top' else 'pooling=' + which}")
    return None


# ------------------------------------------------------------------------------------------ steps
def else_needs_if(step: dict) -> Problem | None:
    if "else" in step and "if" not in step:
        return Problem("'else' needs an 'if'", ("else",), key=True)
    return None


def bind_name(step: dict) -> Problem | None:
    name = step.get("as")
    if name in RESERVED:
        return Problem(f"'{name}' is reserved and cannot be bound with 'as'", ("as",))
    return None


def unknown_refs(step: dict, key: str, known: Collection[str]) -> list[Problem]:
    """``in``/``else`` references that name no value bound so far (``input``, ``prev`` or an ``as`` name).
    ``known`` is only searched, never copied, unless a reference is unknown: a step costs the same with
    thousands of carried values in scope."""
    refs = step.get(key, "prev")
    many = isinstance(refs, list)
    out = []
    for j, ref in enumerate(refs if many else [refs]):
        if not isinstance(ref, str) or ref == "prev" or ref in known:
            continue
        names = [*RESERVED, *sorted(v for v in known if v not in RESERVED)]
        out.append(Problem(f"unknown value '{ref}' in '{key}'", (key, j) if many else (key,),
                           did_you_mean(ref, names) or f"known here: {', '.join(names)}"))
    return out


def one_input(step: dict) -> Problem | None:
    """A template call (``use``) or a nested layer (``sequential``) takes one input, its ``input``: a value
    listed after the first in ``in`` would never be read (a template reads other values only by name, as
    ``carried``)."""
    refs = step.get("in")
    if not ("use" in step or "sequential" in step) or not isinstance(refs, list) or len(refs) < 2:
        return None
    what = f"template '{step['use']}'" if isinstance(step.get("use"), str) else "a 'sequential' step"
    return Problem(f"{what} takes one input, but 'in' lists {len(refs)}: the values after the first would never "
                   "be read", ("in", 1), "merge them first (add, concat), or let the template read an older value "
                   "by name with 'carried'")


def input_count(step: dict) -> int:
    """How many inputs a step passes to its op (branches, an ``in`` list, or one)."""
    if "branches" in step and isinstance(step["branches"], list):
        return len(step["branches"])
    refs = step.get("in", "prev")
    return len(refs) if isinstance(refs, list) else 1


NOT_A_WORD = "a number, true/false or an expression is expected here, not a word"


def condition(value: Any) -> Problem | None:
    """``if:`` tests truth, and a non-empty string is true (``if: activation`` means "when one is set");
    so a *quoted* boolean such as ``"false"`` would silently count as true: that is an error."""
    if isinstance(value, str) and value.strip().lower() in ("false", "true", "no", "yes", "off", "on", "0", "1"):
        return Problem(f"'if' needs true or false, got the string {value!r}", hint="write true/false without quotes")
    return None


# ------------------------------------------------------------------------------------------ nested layers
def nested_step(step: dict) -> Problem | None:
    """A step inside ``sequential:`` is one link of a chain: Keras's Sequential feeds each layer the
    previous one's output, so no step inside may take another input, bind a value, branch or nest again."""
    for key in ("in", "as", "else", "branches", "sequential", "output", "tap"):
        if key in step and not (key == "in" and step[key] == "prev"):
            what = "nest another 'sequential'" if key == "sequential" else f"use '{key}'"  # an output or a tap
            # inside would be a tensor of the nested model, which the outer model cannot return
            return Problem(f"a step inside 'sequential' cannot {what}: a nested Sequential is a chain, each "
                           "layer taking the previous one's output", (key,), key=True)
    return None


def nested_op(opdef: OpDef) -> Problem | None:
    """A Sequential holds layers; an op that is a Keras operation (``x + 3.0``) cannot be one of them."""
    if not opdef.layer:
        return Problem(f"op '{opdef.name}' is a Keras operation, not a layer, so it cannot be inside 'sequential'",
                       ("op",), hint="move it before or after the 'sequential' step")
    return None


def empty_sequential() -> Problem:
    return Problem("'sequential' makes no layer here: every step inside it is skipped by its 'if'",
                   ("sequential",), key=True)


def unknown_template(name: str, templates: Iterable[str]) -> Problem | None:
    templates = list(templates)
    if name in templates:
        return None
    hint = did_you_mean(name, templates) or (
        "templates: " + (", ".join(sorted(templates)) or "none defined (missing 'imports'?)"))
    return Problem(f"unknown template '{name}'", hint=hint)


def template_depth(depth: int, limits: Limits) -> Problem | None:
    if depth > limits.template_depth:
        return Problem(f"templates nested deeper than {limits.template_depth} (recursive template?) "
                       "(limit 'template_depth')", ("use",))
    return None


def unknown_op(name: Any) -> Problem | None:
    if isinstance(name, str) and name in OPS:
        return None
    plugin = "is a plug-in missing? load it with --plugin MODULE (docs/plugins.md)"
    close = did_you_mean(str(name), OPS)
    return Problem(f"unknown op '{name}'", ("op",), f"{close} or {plugin}" if close else f"{plugin}; ops: {', '.join(OPS)}")


def arity(opdef: OpDef, n: int) -> Problem | None:
    message = opdef.check_arity(n)
    return Problem(message) if message else None


def unknown_attrs(opdef: OpDef, step: dict) -> list[Problem]:
    return [Problem(f"unknown attribute '{k}' for op '{opdef.name}'", (k,),
                    did_you_mean(k, opdef.attrs) or f"attributes: {', '.join(opdef.attrs) or 'none'}", key=True)
            for k in step if k not in STEP_META and k not in opdef.attrs]


def missing_attrs(opdef: OpDef, step: dict, defaults: dict) -> list[Problem]:
    typos = [k for k in step if k not in STEP_META and k not in opdef.attrs]
    return [Problem(f"op '{opdef.name}' needs attribute '{key}'") for key, attr in opdef.attrs.items()
            if attr.required and key not in step and key not in defaults and not mistyped(key, typos)]


def checked_value(attr: Attr, value: Any, label: str, names: Iterable[str] = ()) -> tuple[Any, Problem | None]:
    try:
        return coerce(attr, value), None
    except ValueError as exc:
        hint = None
        if isinstance(value, str):
            hint = did_you_mean(value, [*attr.kind_def.words(attr), *names])
        return None, Problem(f"{label}: {exc}", hint=hint)


def int_bits(label: str, value: Any, limits: Limits) -> Problem | None:
    if not isinstance(value, (int, list)) or isinstance(value, bool) or (
            isinstance(value, int) and value.bit_length() <= limits.int_bits):
        return None  # the common case, without building a list (one call per attribute of every layer)
    flat = value if isinstance(value, list) else [value]
    flat = [x for v in flat for x in (v if isinstance(v, list) else [v])]
    if any(isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > limits.int_bits for x in flat):
        return Problem(f"{label} is too large (more than {limits.int_bits} bits; limit 'int_bits')")
    return None


def attr_combination(opdef: OpDef, attrs: dict) -> Problem | None:
    """The op record's cross-attribute rules (e.g. groups must divide filters)."""
    for check in opdef.checks:
        message = check(attrs)
        if message:
            return Problem(f"{opdef.name}: {message}")
    return None


def layer_name(name: str) -> Problem | None:
    """What Keras (and every file format a name ends up in) refuses in a layer name."""
    if not name:
        return Problem("a layer name cannot be empty", ("name",))
    if "/" in name:
        return Problem(f"layer name {name!r} contains '/', which Keras does not allow", ("name",))
    if name.isascii() and name.isprintable():  # no control character: the common case, without a scan
        return None
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        return Problem(f"layer name {name!r} contains the control character U+{ord(bad):04X}", ("name",))
    return None


# ------------------------------------------------------------------------------------------ templates
def unknown_param(name: str, tname: str, known: Iterable[str]) -> Problem:
    known = sorted(known)
    if name in (*STAGE_META, *CALL_META):  # a stage's key given per repeat ('at'): not a typo of itself
        hint = (f"'{name}' is a key of the stage, not a parameter; 'at' gives a repeat parameters, a 'block' "
                "and a 'carry'")
    else:
        hint = did_you_mean(name, [*known, *STAGE_META, *CALL_META]) or (
            f"parameters: {', '.join(known)}" if known else "it takes no parameters")
    return Problem(f"unknown parameter '{name}' for template '{tname}'", hint=hint, key=True)


def repeat_template(block: str, at: dict, entries: Iterable[str]) -> str:
    """The template a repeat uses: the stage's ``block``, or the ``block`` of the last of the repeat's 'at'
    entries (in written order) that gives one (ShuffleNet's ``at: {first: {block: down_unit}}``)."""
    for which in entries:
        if isinstance(at[which], dict) and "block" in at[which]:
            block = str(at[which]["block"])
    return block


def missing_param(name: str, tname: str, at: dict | None = None, repeat: int | None = None) -> Problem:
    """A required parameter nobody passed; for a stage whose ``at`` overrides pass it to some repeats
    only, the first ``repeat`` left without it is named."""
    partly = at is not None and any(isinstance(v, dict) and name in v for v in at.values())
    where = f" in repeat {repeat}" if partly and repeat is not None else ""
    return Problem(f"missing parameter '{name}' for template '{tname}'{where}")


def param_declared_twice(tname: str, template: dict) -> list[Problem]:
    params, required = template.get("params") or {}, template.get("required") or []
    if not isinstance(params, dict) or not isinstance(required, list):
        return []
    return [Problem(f"parameter '{both}' of template '{tname}' is both required and has a default",
                    ("params", both), key=True) for both in sorted(set(params) & set(required))]


def mistyped(name: str, unknown: list[str]) -> bool:
    """A missing name that one of the unknown keys is a typo of is reported once, as the typo."""
    return any(did_you_mean(k, [name]) for k in unknown)


# ------------------------------------------------------------------------------------------ checkpoints
def checkpoint_family(value: Any) -> Problem | None:
    """The top-level ``checkpoint:`` names a family archspec knows how to read (docs/pytorch.md)."""
    if value is None or value in CHECKPOINT_FAMILIES:
        return None
    return Problem(f"unknown checkpoint family {value!r}", hint=did_you_mean(str(value), CHECKPOINT_FAMILIES)
                   or f"families: {', '.join(CHECKPOINT_FAMILIES)}")


def checkpoint_key(opdef: OpDef, key: Any) -> Problem | None:
    """A step's ``checkpoint:`` key: only on an op whose record says how checkpoint tensors fill its weights,
    and a dotted module path (``layer1.0.conv1``) without spaces or control characters. ``key`` is None
    when not known yet (the checker) or null (no tensors for this layer)."""
    if opdef.torch is None:
        takes = ", ".join(name for name, op in OPS.items() if op.torch is not None)
        return Problem(f"op '{opdef.name}' takes no checkpoint tensors", ("checkpoint",), f"ops that do: {takes}")
    if key is None or _module_path(key):
        return None
    return Problem(f"checkpoint key {key!r} is not a dotted module path like 'layer1.0.conv1'", ("checkpoint",))


def checkpoint_optional(value: Any) -> Problem | None:
    """The top-level ``checkpoint_optional:`` maps checkpoint module paths (``aux1``) to the build option that
    takes their tensors: the plan reports those tensors as not used by this build, not as left over."""
    for key in value or {}:
        if not _module_path(key):
            return Problem(f"checkpoint key {key!r} is not a dotted module path like 'layer1.0.conv1'", (key,))
    return None


def _module_path(key: Any) -> bool:
    """A dotted module path (``layer1.0.conv1``): no empty part, no whitespace or control characters."""
    return isinstance(key, str) and bool(key) and "" not in key.split(".") and (
        key.isascii() and key.isprintable() and " " not in key or not any(  # the scan only when it may find
            c.isspace() or not c.isprintable() for c in key))


# ------------------------------------------------------------------------------------------ carried values
def carried_unbound(tname: str, name: str, known: Iterable[str]) -> Problem | None:
    """A template that declares ``carried: [name]`` reads that value where it is used: a stage block sees
    the values earlier stages ``carry``, a ``use:`` call the caller's values of those names."""
    if name in known:
        return None
    return Problem(f"template '{tname}' reads the carried value '{name}', which is not bound here",
                   hint=f"an earlier stage must carry it (carry: {{{name}: input}}), or the caller bind it with 'as'")


def carry_refs(carry: dict, known: Collection[str]) -> list[Problem]:
    """``carry: {name: value}`` (a stage's, or an 'at' entry's for its repeats): each value is one of the
    block's values after it ran (``input``, ``prev`` = its output, an ``as`` name of its body, or a value it
    reads as carried)."""
    bad = [(name, ref) for name, ref in carry.items()
           if not (isinstance(ref, str) and (ref in ("input", "prev") or ref in known))]
    if not bad:
        return []
    names = ["input", "prev", *sorted(set(known) - {"input", "prev"})]
    return [Problem(f"unknown value '{ref}' carried as '{name}'", (name,),
                    did_you_mean(str(ref), names) or f"known here: {', '.join(names)}") for name, ref in bad]


# ------------------------------------------------------------------------------------------ outputs and tensors
def output_name(name: Any, first: Any = None) -> Problem | None:
    """A step's ``output:`` names one output of the model (a key of its dict of outputs): a non-empty
    string without '/' or control characters, used once (``first``: where the name was first declared). A null
    name (a template with a null field) declares no output, as a null checkpoint key maps nothing."""
    if name is None:
        return None
    if not isinstance(name, str) or not name or "/" in name or not name.isprintable():
        return Problem(f"output name {name!r} must be a non-empty printable string without '/'", ("output",))
    if first is not None:
        return Problem(f"two outputs are named '{name}' (first declared at {first})", ("output",),
                       "an output declared in a repeated block needs a name template, e.g. 'out{i}'")
    return None


def tensor_params(tname: str, template: dict) -> list[Problem]:
    """A template's ``tensors`` are parameters whose arguments name values (the caller's ``in`` names), so
    they cannot also be ordinary parameters, nor be called ``input`` or ``prev``."""
    tensors = template.get("tensors") or []
    params, required = template.get("params") or {}, template.get("required") or []
    if not isinstance(tensors, list) or not isinstance(params, dict) or not isinstance(required, list):
        return []
    return [Problem(f"tensor parameter '{t}' of template '{tname}' is also an ordinary parameter", ("tensors", k))
            for k, t in enumerate(tensors) if t in params or t in required]


# ------------------------------------------------------------------------------------------ published weights
# A spec may come from a stranger's pull request, and `build --weights imagenet` downloads what its `published`
# entries name (docs/validation.md, "Published weights: the trust policy"): HTTPS only, a plain file name that
# cannot leave the cache folder, a hash the download is checked against before it is kept.
_FILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")
_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")


def _clipped(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def published_file_name(text: str, literal: bool = False) -> Problem | None:
    """``file`` names the cached file: letters, digits and ``_ . + -``, not starting with a dot, no ``..``:
    nothing that could name a folder or leave the cache. ``literal``: ``text`` is one literal part of a
    name template (the text between ``{fields}``), checked for its characters only."""
    bad = next((c for c in text if c not in _FILE_CHARS), None)
    if bad is not None:
        what = "a path separator" if bad in "/\\" else f"the character {bad!r}"
        return Problem(f"published file name {_clipped(text)} contains {what}: it must be a plain file name "
                       "(letters, digits, '_', '.', '+', '-')", hint="the file is kept in the weights cache under "
                       "this name; the folder is not the spec's to choose")
    if ".." in text or not literal and (not text or text.startswith(".") or len(text) > 255):
        return Problem(f"published file name {_clipped(text)} is not a plain file name (empty, too long, "
                       "starting with '.' or containing '..')")
    return None


def published_url(text: str, literal: bool = False) -> Problem | None:
    """``url`` is ``https://HOST/...``, its scheme written out (not made by a ``{field}``): weights are fetched
    over HTTPS only, never ``file://`` (a local file), ``http://`` or another scheme. ``literal``: ``text`` is
    a name template, of which only the scheme can be checked before it is filled."""
    if not text.startswith("https://"):
        return Problem(f"published url {_clipped(text)} does not start with 'https://': weights are fetched "
                       "over HTTPS only (no file://, http:// or other schemes)")
    if literal:
        return None
    from urllib.parse import urlsplit

    try:
        host = urlsplit(text).hostname
    except ValueError:
        host = None
    if not host or any(c.isspace() or not c.isprintable() for c in text):
        return Problem(f"published url {_clipped(text)} is not an https:// URL with a host")
    return None


def published_hash(text: str, literal: bool = False) -> Problem | None:
    """``hash`` is the file's md5 (32 hex digits, what keras.applications pins) or sha256 (64), lowercase.
    ``literal``: one literal part of a name template, checked for hex digits only."""
    if (all(c in "0123456789abcdef" for c in text) if literal else _HASH.fullmatch(text)):
        return None
    return Problem(f"published hash {_clipped(text)} is not an md5 (32) or sha256 (64) lowercase hex digest")


def published_hash_required(name: str, which: str) -> Problem:
    """A download is checked against a hash before it is kept; only the bundled zoo's own entries (keras.applications
    publishes no hash for MobileNet and MobileNetV2) may go without one."""
    return Problem(f"the published '{name}' {which} file has no hash: a spec's published files must name the "
                   "md5 or sha256 of the file, which the download is checked against before it is kept",
                   hint="only the bundled specs' own entries may go without one (docs/validation.md, 'Published "
                        "weights: the trust policy'); a spec that extends a bundled one keeps them")


PUBLISHED_VALUES = {"file": published_file_name, "url": published_url, "hash": published_hash}  # key -> its rule

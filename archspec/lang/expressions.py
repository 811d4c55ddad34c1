"""Safe arithmetic for spec values and name templates.

Expressions are parsed with :mod:`ast` and evaluated by walking a whitelist of node types; nothing is
ever passed to ``eval``. Names resolve only against the scope the builder provides (template
parameters, the repeat index, the inferred input shape, spec ``vars``).
"""

from __future__ import annotations

import ast
import math
import operator
from collections import ChainMap
from functools import lru_cache
from keyword import iskeyword
from typing import Any, Callable, Mapping

from archspec.errors import did_you_mean
from archspec.limits import DEFAULT_LIMITS, Limits


class ExpressionError(ValueError):
    """A problem in one expression; the builder attaches the spec location."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _int(x: Any) -> int:
    return int(x)


def letter(i: Any) -> str:
    """1 -> 'a', 26 -> 'z', 27 -> 'aa' (the 'res2a_branch2a' naming of the original ResNet files); as a
    function, names that start elsewhere or skip: Inception's ``Mixed_5{letter(i + 1)}`` is Mixed_5b, 5c, ..."""
    if isinstance(i, bool) or not isinstance(i, int) or i < 1:
        raise ValueError(f"needs a whole number of at least 1, got {i!r}")
    out = ""
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = chr(ord("a") + r) + out
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "int": _int,
    "round": round,
    "abs": abs,
    "floor": math.floor,
    "ceil": math.ceil,
    "letter": letter,
}
_SYNTAX = ("numbers, names, + - * / // % **, comparisons, and/or/not, 'a if c else b', "
           "min/max/int/round/abs/floor/ceil/letter")


@lru_cache(maxsize=4096)
def parse(source: str, max_chars: int = DEFAULT_LIMITS.expression_chars,
          max_depth: int = DEFAULT_LIMITS.expression_depth) -> ast.Expression:
    """Parse and whitelist-check an expression once; results are cached per string."""
    if len(source) > max_chars:
        raise ExpressionError(f"expression longer than {max_chars} characters (limit 'expression_chars')")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression {source!r}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"invalid expression {source!r}") from None
    for node in ast.walk(tree):
        _check_node(node)
    if _depth(tree.body) > max_depth:
        raise ExpressionError(f"expression nested deeper than {max_depth} levels (limit 'expression_depth')")
    return tree


def _depth(node: ast.AST) -> int:
    """Nesting depth of operators and calls (contexts such as ``Load`` do not count)."""
    children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    return 1 + max(map(_depth, children), default=0)


def _check_node(node: ast.AST) -> None:
    allowed = (
        ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp,
        ast.Compare, ast.IfExp, ast.Call, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
        *_BINOPS, *_CMPOPS,
    )
    if not isinstance(node, allowed):
        raise ExpressionError(f"'{type(node).__name__}' is not allowed in expressions", f"allowed: {_SYNTAX}")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool, type(None))):
        raise ExpressionError(f"constant {node.value!r} is not allowed in expressions")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"calling '{ast.unparse(node.func)}' is not allowed in expressions",
                                  f"allowed functions: {', '.join(FUNCTIONS)}")
        if node.func.id not in FUNCTIONS:
            raise ExpressionError(f"unknown function '{node.func.id}'",
                                  did_you_mean(node.func.id, FUNCTIONS) or f"allowed: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed in expressions")


def names_in(source: str, limits: Limits = DEFAULT_LIMITS) -> frozenset[str]:
    """Free names an expression refers to (function names excluded)."""
    return set(_free_names(source, limits.expression_chars, limits.expression_depth))


def is_bare_name(source: str) -> bool:
    return source.isidentifier()


def evaluate(source: str, scope: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> Any:
    """Evaluate ``source`` against ``scope``; raises :class:`ExpressionError` on any problem, including an
    unknown name in a part that is not evaluated (``a if c else typo``), as the checker reads every name."""
    return _run(_prepared(source, limits.expression_chars, limits.expression_depth), scope, limits)


def _run(prepared: tuple[_Code, tuple[str, ...]], scope: Mapping[str, Any], limits: Limits) -> Any:
    """A prepared expression's value in ``scope``: every name it reads must be there, evaluated or not."""
    code, names = prepared
    for name in names:
        if lookup(scope, name) is _MISSING:
            raise ExpressionError(f"unknown name '{name}'", did_you_mean(name, scope))
    return code(scope, limits)


@lru_cache(maxsize=4096)
def _prepared(source: str, max_chars: int, max_depth: int) -> tuple[_Code, tuple[str, ...]]:
    """:func:`_compiled` and :func:`_free_names` of ``source``, found with one cache lookup per evaluation."""
    return _compiled(source, max_chars, max_depth), _free_names(source, max_chars, max_depth)


@lru_cache(maxsize=4096)
def _free_names(source: str, max_chars: int, max_depth: int) -> tuple[str, ...]:
    """The names ``source`` reads, in the order written (function names excluded)."""
    tree = parse(source, max_chars, max_depth)
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs]
    return tuple(dict.fromkeys(n.id for n in sorted(found, key=lambda n: n.col_offset)))


_Code = Callable[[Mapping[str, Any], Limits], Any]  # an expression compiled to nested closures


@lru_cache(maxsize=4096)
def _compiled(source: str, max_chars: int, max_depth: int) -> _Code:
    """The whitelisted tree of ``source`` turned once into closures (the same expression is evaluated for
    every repeat of a block: walking its tree each time was a fifth of validating the zoo)."""
    return _compile(parse(source, max_chars, max_depth).body)


def _compile(node: ast.AST) -> _Code:
    if isinstance(node, ast.Constant):
        constant = node.value
        return lambda scope, limits: _bounded(constant, limits)
    if isinstance(node, ast.Name):
        return _name(node.id)
    if isinstance(node, ast.BinOp):
        return _binop(type(node.op), _compile(node.left), _compile(node.right))
    if isinstance(node, ast.UnaryOp):
        return _unary(type(node.op), _compile(node.operand))
    if isinstance(node, ast.BoolOp):
        return _boolop(isinstance(node.op, ast.And), [_compile(v) for v in node.values])
    if isinstance(node, ast.Compare):
        return _compare(_compile(node.left), [(_CMPOPS[type(op)], _compile(c)) for op, c in zip(node.ops, node.comparators)])
    if isinstance(node, ast.IfExp):
        test, body, orelse = _compile(node.test), _compile(node.body), _compile(node.orelse)
        return lambda scope, limits: body(scope, limits) if test(scope, limits) else orelse(scope, limits)
    if isinstance(node, ast.Call):
        return _call(node.func.id, [_compile(a) for a in node.args])
    raise ExpressionError(f"'{type(node).__name__}' is not allowed in expressions")  # pragma: no cover


def _name(name: str) -> _Code:
    def run(scope: Mapping[str, Any], limits: Limits) -> Any:
        value = lookup(scope, name)
        if value is _MISSING:
            raise ExpressionError(f"unknown name '{name}'", did_you_mean(name, scope))
        return value

    return run


_MISSING = object()


def lookup(scope: Mapping[str, Any], name: str) -> Any:
    """``scope[name]``, or ``_MISSING``: one pass over a ChainMap's maps (its own ``in`` then ``[]`` walk
    them twice, the second time raising a KeyError per map; scopes are chains four or five deep)."""
    maps = scope.maps if isinstance(scope, ChainMap) else (scope,)
    for mapping in maps:
        if name in mapping:
            return mapping[name]
    return _MISSING


def _unary(op: type, operand: _Code) -> _Code:
    def run(scope: Mapping[str, Any], limits: Limits) -> Any:
        value = operand(scope, limits)
        if op is ast.Not:
            return not value
        _numeric(value, "unary minus")
        return -value if op is ast.USub else +value

    return run


def _boolop(is_and: bool, values: list[_Code]) -> _Code:
    def run(scope: Mapping[str, Any], limits: Limits) -> Any:
        result = None
        for value in values:
            result = value(scope, limits)
            if (is_and and not result) or (not is_and and result):
                return result
        return result

    return run


def _compare(left_code: _Code, rights: list[tuple[Callable[[Any, Any], bool], _Code]]) -> _Code:
    def run(scope: Mapping[str, Any], limits: Limits) -> Any:
        left = left_code(scope, limits)
        for op, right_code in rights:
            right = right_code(scope, limits)
            try:
                ok = op(left, right)
            except TypeError:
                raise ExpressionError(f"cannot compare {left!r} and {right!r}") from None
            if not ok:
                return False
            left = right
        return True

    return run


def _call(func: str, args_code: list[_Code]) -> _Code:
    def run(scope: Mapping[str, Any], limits: Limits) -> Any:
        args = [a(scope, limits) for a in args_code]
        _check_cost(func, args, limits)
        try:
            return _bounded(FUNCTIONS[func](*args), limits)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"{func}(): {exc}") from None

    return run


def _check_cost(func: str, args: list[Any], limits: Limits) -> None:
    """Refuse arguments that make a builtin's running time grow: ``round(8, -10**8)`` computes
    ``10**(10**8)``, so ``ndigits`` is bounded like the exponent of ``**``. The other functions cost
    at most linear time in their (already bounded) arguments."""
    if func == "round" and len(args) == 2 and isinstance(args[1], int) and not isinstance(args[1], bool) \
            and abs(args[1]) > limits.exponent:
        raise ExpressionError(f"round(): ndigits {args[1]} is outside -{limits.exponent}.."
                              f"{limits.exponent} (limit 'exponent')")


def _numeric(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{what} needs numbers, got {value!r}")


def _binop(op: type, left_code: _Code, right_code: _Code) -> _Code:
    sym, apply, is_add, is_pow = op.__name__.lower(), _BINOPS[op], op is ast.Add, op is ast.Pow

    def run(scope: Mapping[str, Any], limits: Limits) -> Any:
        left, right = left_code(scope, limits), right_code(scope, limits)
        if is_add and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > limits.string_chars:
                raise ExpressionError(f"string longer than {limits.string_chars} characters "
                                      "(limit 'string_chars')")
            return left + right
        _numeric(left, sym)
        _numeric(right, sym)
        if is_pow and abs(right) > limits.exponent:
            raise ExpressionError(f"exponent {right} is larger than {limits.exponent} (limit 'exponent')")
        try:
            return _bounded(apply(left, right), limits)
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
        except OverflowError:
            raise ExpressionError("number too large") from None

    return run


def _bounded(value: Any, limits: Limits) -> Any:
    if isinstance(value, complex):
        raise ExpressionError("result is not a real number")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > limits.int_bits:
        raise ExpressionError(f"integer result too large (more than {limits.int_bits} bits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("result is not a finite number")
    return value


def format_template(template: str, scope: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Fill ``{expr}`` fields of a name template; ``{{``/``}}`` escape braces.

    Returns ``None`` when any field evaluates to ``None``: an unnamed parameter makes the layer
    auto-named, which is how optional names (``name: "{prefix}_bn"``) are written.
    """
    out: list[str] = []
    length = 0
    maps = scope.maps if isinstance(scope, ChainMap) else (scope,)
    for kind, text in _template_plan(template, limits.expression_chars, limits.expression_depth):
        if kind is _LITERAL:
            out.append(text)
            length += len(text)
            continue
        if kind is _NAME:  # most fields: '{block}' (lookup's walk, inlined: a name per layer of the network)
            for mapping in maps:
                if text in mapping:
                    value = mapping[text]
                    break
            else:
                raise ExpressionError(f"unknown name '{text}'", did_you_mean(text, scope))
        elif kind is _EXPRESSION:
            value = evaluate(text, scope, limits)
        else:
            raise ExpressionError(text)
        if value is None:
            return None
        text = str(value)
        out.append(text)
        length += len(text)
        if length > limits.string_chars:
            raise ExpressionError(f"name longer than {limits.string_chars} characters (limit 'string_chars')")
    return "".join(out)


_LITERAL, _NAME, _EXPRESSION, _BROKEN, _TEMPLATE = "literal", "name", "expression", "broken", "template"


@lru_cache(maxsize=4096)
def _template_plan(template: str, max_chars: int, max_depth: int) -> tuple[tuple[str, str], ...]:
    """:func:`_template_parts` with each field's kind decided once: one name (:func:`_plain_name`), an
    expression, or a syntax error (its message)."""
    return tuple((_LITERAL if field is False else _BROKEN if field is None else
                  _NAME if _plain_name(text, max_chars, max_depth) else _EXPRESSION, text)
                 for field, text in _template_parts(template))


def _plain_name(text: str, max_chars: int, max_depth: int) -> bool:
    """Whether :func:`evaluate` would read ``text`` as one name and nothing else (ASCII: the parser folds
    other identifiers to NFKC; keywords are constants; the limits still refuse what they refuse)."""
    return text.isidentifier() and text.isascii() and not iskeyword(text) and len(text) <= max_chars and max_depth >= 1


def template_fields(template: str) -> list[str]:
    """The ``{expr}`` fields of a name template, in order; raises :class:`ExpressionError` on a stray brace."""
    fields = []
    for field, text in _template_parts(template):
        if field is None:
            raise ExpressionError(text)
        if field:
            fields.append(text)
    return fields


def template_literals(template: str) -> list[str]:
    """The literal text between a name template's fields (``{{``/``}}`` unescaped): what it says whatever
    its fields evaluate to."""
    return [text for field, text in _template_parts(template) if field is False]


@lru_cache(maxsize=4096)
def _template_parts(template: str) -> tuple[tuple[bool | None, str], ...]:
    """``template`` scanned once into ``(is_field, text)`` parts; the same name template is filled for
    every repeat of a block. A syntax error becomes a last ``(None, message)`` part, so it is raised
    only after the fields before it were evaluated, as a left-to-right scan would.
    """
    parts: list[tuple[bool | None, str]] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch in "{}" and template.startswith(ch * 2, i):
            literal.append(ch)
            i += 2
            continue
        if ch not in "{}":
            literal.append(ch)
            i += 1
            continue
        if literal:
            parts.append((False, "".join(literal)))
            literal = []
        end = template.find("}", i)
        if ch == "}":
            parts.append((None, f"single '}}' in name template {template!r} (write '}}}}')"))
            return tuple(parts)
        if end < 0:
            parts.append((None, f"unclosed '{{' in name template {template!r}"))
            return tuple(parts)
        parts.append((True, template[i + 1 : end]))
        i = end + 1
    if literal:
        parts.append((False, "".join(literal)))
    return tuple(parts)


def resolve(value: Any, scope: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS, numeric: bool = False) -> Any:
    """Resolve a spec value: the one rule for strings everywhere in the language.

    * a bare word that names something in scope is that value (``stride``, ``in_channels``);
    * a bare word that does not is a literal string (``relu``, ``same``) -- unless ``numeric``;
    * any other string that parses as an expression is evaluated (``4 * filters``);
    * anything else is a name template (``"{block}_conv"``);
    * lists are resolved element-wise; numbers, booleans and null are themselves.
    """
    if isinstance(value, list):
        return [resolve(v, scope, limits, numeric) for v in value]
    if not isinstance(value, str):
        return value
    kind, text, prepared = _resolution(value, limits.expression_chars, limits.expression_depth)
    if kind is _NAME:
        found = lookup(scope, text)
        if found is not _MISSING:
            return found
        if text in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[text]
        if numeric:
            raise ExpressionError(f"unknown name '{text}'", did_you_mean(text, scope))
        return value
    if kind is _EXPRESSION:  # evaluate(text), its preparation already found
        return _run(prepared, scope, limits)
    if kind is _BROKEN and numeric:
        _prepared(text, limits.expression_chars, limits.expression_depth)  # raises the parser's error
    return format_template(value, scope, limits)


@lru_cache(maxsize=4096)
def _resolution(value: str, max_chars: int, max_depth: int) -> tuple[str, str, Any]:
    """Which rule of :func:`resolve` a string follows, decided once per string: a bare word (stripped), an
    expression (its :func:`_prepared` code and names), one that does not parse (a name template unless a
    number is expected), or a name template."""
    text = value.strip()
    if is_bare_name(text):
        return _NAME, text, None
    if "{" not in text:
        try:
            return _EXPRESSION, text, _prepared(text, max_chars, max_depth)
        except ExpressionError:
            return _BROKEN, text, None
    return _TEMPLATE, text, None

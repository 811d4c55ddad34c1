"""The performance fast paths must not change results: each is compared with the slow path it skips."""

from __future__ import annotations

import pytest

from archspec.errors import SpecError
from archspec.limits import Limits
from archspec.lang import yaml_loader
from archspec.lang.sources import bundled_dir, bundled_names
from tests.support.paths import SPECS, TESTS

SNIPPETS = [
    "a: 1\nb: [1, 2, {c: d}]\n",
    "name: \"caf\u00e9 \u2603\"\nx: {k: v, \u00e9: [1, 2]}\ny: 3\n",
    "a: &x [1, 2]\nb: *x\n",
    "a: &x 1\nb: &x 2\nc: *x\n",
    "a: *missing\n",
    "a: &r [*r]\n",
    "a: [1, 2\n",
    "a: {b: 1\n",
    "a:\n\t- 1\n",
    "a: 1\na: 2\n",
    "a: !!python/object:os.system x\n",
    "? [1, 2]\n: x\n",
    "- - - 1\n",
    "a: 'unterminated\n",
    "a: 1\n---\nb: 2\n",
    "%YAML 1.2\n---\na: 1\n",
    "%YAML 2.0\n---\na: 1\n",
    "a: b: c\n",
    "a: @x\n",
    "a: `x\n",
    "a: 0x1F\nb: 1e3\nc: .inf\nd: ~\ne: 2001-12-14\n",
    "a: \x01\n",
    "\ufeffa: 1\n",
    "a: |\n  text\n   more\nb: >-\n  folded\n",
    "[" * 6000 + "]" * 6000,
]


def _parse(text: str) -> tuple:
    try:
        doc = yaml_loader.parse_value(text, "t.yaml")
    except SpecError as exc:
        return ("error", [d.format() for d in exc.diagnostics])
    except Exception as exc:  # whatever the pure-Python path raises, the fast path must raise too
        return ("raised", type(exc).__name__, str(exc))
    return ("ok", doc.data, doc.locs, doc.key_locs)


_DOCUMENTS = SNIPPETS + [p.read_text(encoding="utf-8") for p in sorted(bundled_dir().rglob("*.yaml"))]


@pytest.mark.parametrize("text", _DOCUMENTS, ids=[f"doc{i}" for i in range(len(_DOCUMENTS))])
def test_libyaml_composes_like_pure_python(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _parse(text)
    monkeypatch.setattr(yaml_loader, "_LIBYAML", None)
    assert fast == _parse(text)


BROKEN_STEPS = [
    "{op: conv2d, filters: 8, kernel_size: 3, bogus: 1}",
    "{op: conv2d, filters: [1], kernel_size: 3}",
    "{op: conv2dd, filters: 8}",
    "{op: 7}",
    "{op: true}",
    "{use: t, op: add}",
    "{name: x}",
    "[1, 2]",
    "5",
    "{op: batch_norm, epsilon: abc, momentum: [1]}",
    "{op: add, branches: [[{op: conv2d, filters: x}], 3]}",
    "{use: t, filters: 1, if: [1]}",
]


@pytest.mark.parametrize("step", BROKEN_STEPS)
def test_fast_schema_if_reports_like_jsonschema(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import jsonschema

    from archspec.lang import schema

    text = ("archspec: 1\nname: n\ninput: [8, 8, 3]\ntemplates:\n  t:\n    body:\n"
            f"      - {step}\nstages:\n  s:\n    body:\n      - {step}\n      - {{op: dense, units: 2}}\n")
    doc = yaml_loader.parse_value(text, "t.yaml")
    fast = [d.format() for d in schema.check(doc)]
    assert fast, "each step above breaks the schema"
    plain = jsonschema.validators.validator_for(json.loads(schema.schema_text()))(json.loads(schema.schema_text()))
    monkeypatch.setattr(schema, "validator", lambda: plain)
    assert fast == [d.format() for d in schema.check(doc)]


def test_fast_schema_reports_like_jsonschema_on_the_invalid_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """The invalid corpus and some zoo specs: the ``if``/``allOf`` shortcuts report exactly what jsonschema does."""
    import json

    import jsonschema

    from archspec.lang import schema

    docs = []
    zoo = [SPECS / f"{name}.yaml" for name in ("resnet50", "mobilenet_v3_small", "inception_v3")]
    for file in [*zoo, *sorted((TESTS / "lang" / "invalid").rglob("*.yaml"))]:
        try:
            docs.append(yaml_loader.load_document(file))
        except SpecError:  # not YAML the schema gets to see
            pass
    fast = [[d.format() for d in schema.check(doc)] for doc in docs]
    assert sum(map(bool, fast)) >= 10, "the invalid corpus breaks the schema"
    plain = jsonschema.validators.validator_for(json.loads(schema.schema_text()))(json.loads(schema.schema_text()))
    monkeypatch.setattr(schema, "validator", lambda: plain)
    assert fast == [[d.format() for d in schema.check(doc)] for doc in docs]


def _mutants(data: object, rng, count: int) -> list[object]:
    """``count`` copies of ``data``, each with one value replaced, one key dropped or one key added."""
    import copy

    pool = [0, 1, -3, 2.5, 1.0, True, False, None, "", "relu", "x y", "4 * filters", [], [1], [1, 1], ["a", 2],
            {}, {"op": "conv2d"}, {"bogus": 1}, "conv2d", "prev", "input", 10**30]
    out = []
    for _ in range(count):
        doc = copy.deepcopy(data)
        spots, stack = [], [doc]
        while stack:  # every container, to pick one of its entries
            node = stack.pop()
            keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
            spots += [(node, k) for k in keys]
            stack += [node[k] for k in keys]
        node, key = spots[rng.randrange(len(spots))]
        roll = rng.random()
        if roll < 0.15 and isinstance(node, dict):
            del node[key]
        elif roll < 0.25 and isinstance(node, dict):
            node[rng.choice(["bogus", "as", "in", "if", "repeat", "name", "op", "use"])] = rng.choice(pool)
        else:
            node[key] = copy.deepcopy(rng.choice(pool))
        out.append(doc)
    return out


def test_schema_walk_accepts_exactly_what_jsonschema_accepts() -> None:
    """``schema.accepts`` (no jsonschema) against jsonschema's verdict (with the shortcuts the test above
    holds to plain jsonschema) on the zoo, the language corpora and 300 random one-edit mutants of zoo specs
    and libraries: it never accepts what jsonschema rejects, and it decides the valid documents itself."""
    import random

    from archspec.lang import schema

    files = [*sorted((SPECS).rglob("*.yaml")), *sorted((TESTS / "lang").rglob("*.yaml"))]
    docs = []
    for file in files:
        try:
            docs.append(yaml_loader.load_document(file).data)
        except SpecError:
            pass
    rng = random.Random(22)
    for name in ("resnet50", "mobilenet_v3_small", "lib/resnet", "lib/efficientnet", "lib/heads"):
        docs += _mutants(yaml_loader.load_document(SPECS / f"{name}.yaml").data, rng, 60)
    verdicts = [(schema.accepts(doc), schema.validator().is_valid(doc)) for doc in docs]
    assert not [i for i, (fast, slow) in enumerate(verdicts) if fast and not slow]
    valid = [fast for fast, slow in verdicts if slow]
    assert len(valid) > 150 and all(valid), "every valid document is decided without jsonschema"
    assert sum(not slow for _, slow in verdicts) > 150, "the mutants and the corpus break the schema"


@pytest.mark.parametrize("limits", [Limits(yaml_nodes=n) for n in (1, 5, 9, 10, 11)] +
                         [Limits(yaml_chars=n) for n in (1, 20, 25, 26, 27)])
def test_documents_without_anchors_are_sized_like_the_alias_walk(limits: Limits,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Without anchors the alias-bomb walk runs only past a limit; its verdict and message are unchanged."""
    text = "a: [1, 22, {b: ccc}]\nd: eeee\n"

    def parse() -> str:
        try:
            return repr(yaml_loader.parse_value(text, "t.yaml", limits).data)
        except SpecError as exc:
            return "\n".join(d.format() for d in exc.diagnostics)

    fast = parse()
    monkeypatch.setattr(yaml_loader, "_tree_within", lambda root, limits: False)  # always the full walk
    assert fast == parse()


def _reference_format_template(template, scope, limits):
    """The character-by-character scan that ``format_template`` replaced with cached parts."""
    from archspec.lang.expressions import ExpressionError, evaluate

    out, i, n = [], 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "{":
            if template.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            end = template.find("}", i)
            if end < 0:
                raise ExpressionError(f"unclosed '{{' in name template {template!r}")
            value = evaluate(template[i + 1 : end], scope, limits)
            if value is None:
                return None
            out.append(str(value))
            if sum(map(len, out)) > limits.string_chars:
                raise ExpressionError(f"name longer than {limits.string_chars} characters (limit 'string_chars')")
            i = end + 1
        elif ch == "}":
            if template.startswith("}}", i):
                out.append("}")
                i += 2
                continue
            raise ExpressionError(f"single '}}' in name template {template!r} (write '}}}}')")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def test_cached_name_templates_fill_like_the_scan() -> None:
    from hypothesis import given, settings, strategies as st

    from archspec.limits import Limits
    from archspec.lang.expressions import format_template

    scope = {"a": "xy", "b": 2, "n": None}

    @settings(max_examples=3000, deadline=None)
    @given(st.text(alphabet="{}ab n+1_*", max_size=14), st.sampled_from([Limits(), Limits(string_chars=5)]))
    def check(template: str, limits: Limits) -> None:
        assert _outcome(format_template, template, scope, limits) == \
            _outcome(_reference_format_template, template, scope, limits)

    check()


def _graph_state(graph) -> tuple:
    return (dict(graph.graph), list(graph.nodes(data=True)), list(graph.edges(data=True)))


@pytest.mark.parametrize("name", bundled_names())
def test_heads_sharing_the_stages_match_separate_expansions(name: str) -> None:
    from archspec.api import load_spec
    from archspec.graph.builder import BuildOptions, _heads_free, expand, expand_heads

    spec = load_spec(name)
    runs = [BuildOptions()] + [BuildOptions(include_top=False, pooling=p)
                               for p in ("avg", "max") if p in spec.data.get("head", {})]
    assert len(runs) == 1 or _heads_free(spec), "the zoo should take the shared path"
    shared = [_graph_state(g.to_networkx()) for g in expand_heads(spec, runs)]
    assert shared == [_graph_state(expand(spec, o).to_networkx()) for o in runs]


def test_library_walk_skips_only_files_that_cannot_import(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library validated alone is checked through the networks importing it, however they spell
    ``imports``; skipping the files whose text cannot hold the key finds the same networks."""
    from archspec.graph import project

    (tmp_path / ".git").mkdir()  # the root the walk searches
    (tmp_path / "lib.yaml").write_text("archspec: 1\nkind: library\ntemplates:\n  t:\n    required: [n]\n"
                                       "    body: [{op: dense, units: n * 2}]\n")
    net = "archspec: 1\nname: {name}\ninput: [8, 8, 3]\n{imports}\nstages:\n  s: {{block: t, n: {n}}}\n"
    spellings = {"plain": "imports: [lib.yaml]", "quoted": "'imports': [lib.yaml]",
                 "escaped": '"\\x69mports": [lib.yaml]', "none": ""}
    for k, (name, imports) in enumerate(spellings.items()):
        (tmp_path / f"{name}.yaml").write_text(net.format(name=name, imports=imports, n=f"-{k + 1}"))

    def run() -> list[str]:
        return [d.format() for d in project.validate_files([tmp_path / "lib.yaml"])[tmp_path / "lib.yaml"]]

    fast = run()
    assert sum("in template 't'" in line for line in fast) == 3, fast  # each importer's negative units, once
    monkeypatch.setattr(project, "_may_import", lambda file, max_bytes: True)
    assert fast == run()


def test_heads_do_not_share_stages_that_name_a_head_option(tmp_path) -> None:
    from archspec.api import load_spec
    from archspec.graph.builder import BuildOptions, _heads_free, expand, expand_heads

    path = tmp_path / "n.yaml"
    path.write_text("archspec: 1\nname: n\ninput: [8, 8, 3]\nstages:\n  s:\n    body:\n"
                    "      - {op: conv2d, filters: 4, kernel_size: 1, name: 'c_{pooling}'}\n"
                    "head:\n  top: [{op: global_avg_pool}, {op: dense, units: classes}]\n"
                    "  avg: [{op: global_avg_pool}]\n  max: [{op: global_max_pool}]\n", encoding="utf-8")
    spec = load_spec(path)
    runs = [BuildOptions(), BuildOptions(include_top=False, pooling="avg"), BuildOptions(include_top=False, pooling="max")]
    assert not _heads_free(spec)
    graphs = [g.to_networkx() for g in expand_heads(spec, runs)]
    assert [g.nodes[1]["name"] for g in graphs] == ["conv2d", "c_avg", "c_max"]
    assert [_graph_state(g) for g in graphs] == [_graph_state(expand(spec, o).to_networkx()) for o in runs]


class _ReferenceEvaluator:
    """The tree walk expressions were evaluated with before they were compiled to closures (the slow path)."""

    def __init__(self, scope, limits):
        self.scope, self.limits = scope, limits

    def visit(self, node):
        import ast
        import operator

        from archspec.errors import did_you_mean
        from archspec.lang.expressions import FUNCTIONS, ExpressionError

        binops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
                  ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
        cmpops = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
                  ast.Gt: operator.gt, ast.GtE: operator.ge}
        if isinstance(node, ast.Constant):
            return self.bounded(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.scope:
                raise ExpressionError(f"unknown name '{node.id}'", did_you_mean(node.id, self.scope))
            return self.scope[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self.visit(node.left), self.visit(node.right)
            if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                if len(left) + len(right) > self.limits.string_chars:
                    raise ExpressionError(f"string longer than {self.limits.string_chars} characters "
                                          "(limit 'string_chars')")
                return left + right
            sym = type(node.op).__name__.lower()
            self.numeric(left, sym)
            self.numeric(right, sym)
            if isinstance(node.op, ast.Pow) and abs(right) > self.limits.exponent:
                raise ExpressionError(f"exponent {right} is larger than {self.limits.exponent} (limit 'exponent')")
            try:
                return self.bounded(binops[type(node.op)](left, right))
            except ZeroDivisionError:
                raise ExpressionError("division by zero") from None
            except OverflowError:
                raise ExpressionError("number too large") from None
        if isinstance(node, ast.UnaryOp):
            value = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            self.numeric(value, "unary minus")
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BoolOp):
            result = None
            for value_node in node.values:
                result = self.visit(value_node)
                if isinstance(node.op, ast.And) and not result or isinstance(node.op, ast.Or) and result:
                    return result
            return result
        if isinstance(node, ast.Compare):
            left = self.visit(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self.visit(right_node)
                try:
                    ok = cmpops[type(op)](left, right)
                except TypeError:
                    raise ExpressionError(f"cannot compare {left!r} and {right!r}") from None
                if not ok:
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)
        assert isinstance(node, ast.Call)
        args = [self.visit(a) for a in node.args]
        if node.func.id == "round" and len(args) == 2 and isinstance(args[1], int) and not isinstance(args[1], bool) \
                and abs(args[1]) > self.limits.exponent:
            raise ExpressionError(f"round(): ndigits {args[1]} is outside -{self.limits.exponent}.."
                                  f"{self.limits.exponent} (limit 'exponent')")
        try:
            return self.bounded(FUNCTIONS[node.func.id](*args))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"{node.func.id}(): {exc}") from None

    def numeric(self, value, what):
        from archspec.lang.expressions import ExpressionError

        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"{what} needs numbers, got {value!r}")

    def bounded(self, value):
        import math

        from archspec.lang.expressions import ExpressionError

        if isinstance(value, complex):
            raise ExpressionError("result is not a real number")
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > self.limits.int_bits:
            raise ExpressionError(f"integer result too large (more than {self.limits.int_bits} bits)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError("result is not a finite number")
        return value


def _reference_evaluate(source, scope, limits):
    from archspec.errors import did_you_mean
    from archspec.lang.expressions import ExpressionError, _free_names, parse

    tree = parse(source, limits.expression_chars, limits.expression_depth)
    for name in _free_names(source, limits.expression_chars, limits.expression_depth):  # every name read first
        if name not in scope:
            raise ExpressionError(f"unknown name '{name}'", did_you_mean(name, scope))
    return _ReferenceEvaluator(scope, limits).visit(tree.body)


def test_compiled_expressions_evaluate_like_the_tree_walk() -> None:
    """Expressions are compiled once to closures and names looked up in one pass over a ChainMap's maps:
    results and error messages must be those of the tree walk, on generated expressions and scopes."""
    from collections import ChainMap

    from hypothesis import given, settings, strategies as st

    from archspec.lang.expressions import evaluate
    from archspec.limits import Limits

    leaves = st.sampled_from(["0", "1", "2", "7", "-3", "2.5", "1e308", "9223372036854775807", "'ab'", "''",
                              "True", "None", "a", "b", "s", "n", "f", "missing"])
    binary = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or"]

    def combine(children):
        return st.one_of(
            st.tuples(children, st.sampled_from(binary), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "not ", "+"]), children).map(lambda t: f"({t[0]}{t[1]})"),
            st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            st.tuples(st.sampled_from(["min", "max", "int", "round", "abs", "floor", "ceil"]),
                      st.lists(children, min_size=1, max_size=2)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(children, children, children).map(lambda t: f"({t[0]} < {t[1]} <= {t[2]})"))

    expressions = st.recursive(leaves, combine, max_leaves=6)
    scope = ChainMap({"a": 3}, {"b": -2, "a": 99}, {"s": "xy", "n": None, "f": 0.5})

    @settings(max_examples=600, deadline=None)
    @given(expressions, st.sampled_from([Limits(), Limits(string_chars=3, exponent=4, int_bits=8)]))
    def check(source: str, limits: Limits) -> None:
        assert _outcome(evaluate, source, scope, limits) == _outcome(_reference_evaluate, source, scope, limits)

    check()

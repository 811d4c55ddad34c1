"""Small files that used to cost minutes or gigabytes: builtins whose cost grows with an argument,
and one long string aliased thousands of times. Each is a located error within seconds."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from archspec.errors import SpecError
from archspec.lang.expressions import ExpressionError, evaluate
from archspec.lang.schema import check
from archspec.lang.yaml_loader import load_document, parse_yaml
from archspec.limits import Limits
from tests.hostile.util import TINY, archspec, assert_located
from tests.support.files import write

ROUND_SPEC = TINY.replace("filters: 8", 'filters: "round(8, -100000000) + 8"')


def test_round_with_huge_negative_ndigits_is_a_located_error(tmp_path):
    spec = write(tmp_path / "round.yaml", ROUND_SPEC)
    run = archspec("validate", spec, timeout=30)
    assert run.rc == 1, run
    assert_located(run.out, spec, 7)
    assert "limit 'exponent'" in run.out
    assert run.cpu_seconds < 5, run.cpu_seconds


def test_round_through_set_is_a_located_error(tmp_path):
    spec = write(tmp_path / "tiny.yaml", TINY)
    run = archspec("summary", spec, "--set", "stages.s1.body.0.filters=round(8, -100000000) + 8", timeout=30)
    assert run.rc == 1, run
    assert run.err.startswith("--set stages.s1.body.0.filters=round(8, -100000000) + 8: error: round(): ndigits")
    assert "Traceback" not in run.err
    assert run.cpu_seconds < 5, run.cpu_seconds


@pytest.mark.parametrize("source", ["round(8, -100000000)", "round(8.5, 10**9)", "round(x, -65)", "round(1, 65)"])
def test_round_ndigits_is_bounded_by_the_exponent_limit(source):
    start = time.process_time()
    with pytest.raises(ExpressionError, match="limit 'exponent'"):
        evaluate(source, {"x": 8})
    assert time.process_time() - start < 0.5


@pytest.mark.parametrize("source, value", [("round(1234, -2)", 1200), ("round(2.567, 2)", 2.57),
                                           ("round(8, -64)", 0), ("round(7.5)", 8), ("floor(2.5) + ceil(2.5)", 5)])
def test_ordinary_round_still_works(source, value):
    assert evaluate(source, {}) == value


def test_other_builtins_stay_cheap_on_large_arguments():
    start = time.process_time()
    for source in ("abs(-2**62)", "int(1e18)", "max(1, 2, 3, 4, 5, 6, 7, 8)", "floor(1e308)", "ceil(-1e308)",
                   "int(1e300)", "round(1e308)", "round(10**18, 5)"):
        try:
            evaluate(source, {})
        except ExpressionError as exc:  # refused as too large, quickly
            assert "too large" in str(exc) or "finite" in str(exc), (source, exc)
    assert time.process_time() - start < 0.5


def _aliased(copies: int, size: int = 10_000, where: str = "input") -> str:
    """One anchored string of ``size`` characters, aliased ``copies`` times at ``where``."""
    aliases = "[" + ", ".join(["*a"] * copies) + "]"
    lines = ["archspec: 1", f"vars: {{s: &a '{'x' * size}'}}", "name: bomb", "input: [32, 32, 3]",
             "stages: {s1: {body: [{op: conv2d, kernel_size: 3, filters: 8}]}}"]
    if where == "input":
        lines[3] = f"input: {aliases}"
    elif where == "name":
        lines[2] = f"name: {aliases}"
    elif where == "filters":
        lines[4] = f"stages: {{s1: {{body: [{{op: conv2d, kernel_size: 3, filters: {aliases}}}]}}}}"
    else:
        lines.append(f"{where}: {aliases}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["input", "filters", "description"])
def test_long_string_aliased_15k_times_is_rejected_fast_in_bounded_memory(tmp_path, where):
    """15,000 aliases of a 10 KB string (160 KB file, 150 MB expanded) took 2.9 GB; now a few MB."""
    spec = write(tmp_path / "bomb.yaml", _aliased(15_000, where=where))
    tracemalloc.start()
    start = time.process_time()
    with pytest.raises(SpecError) as info:
        load_document(spec)
    elapsed = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    diag = info.value.diagnostics[0]
    assert "limit 'yaml_chars'" in diag.message
    assert diag.location.file == str(spec) and diag.location.line is not None
    assert elapsed < 2, elapsed
    assert peak < 30_000_000, peak


def test_long_string_aliased_90k_times_from_the_command_line(tmp_path):
    """90,000 aliases (860 KB file) went to 5 GB and MemoryError (exit 3)."""
    spec = write(tmp_path / "bomb.yaml", _aliased(90_000))
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1, run
    assert_located(run.out, spec, 4)
    assert "limit 'yaml_chars'" in run.out
    assert run.cpu_seconds < 10, run.cpu_seconds
    assert run.max_rss_mb < 300, run.max_rss_mb


def test_yaml_chars_limit_is_configurable(tmp_path):
    spec = write(tmp_path / "small.yaml", _aliased(10, size=100))
    with pytest.raises(SpecError, match="more than 500 characters"):
        load_document(spec, Limits(yaml_chars=500))
    assert load_document(spec, Limits(yaml_chars=5000)).data["input"][0] == "x" * 100


@pytest.mark.parametrize("where", ["input", "filters", "name"])
def test_schema_messages_never_carry_a_whole_large_value(where):
    """Just under the character limit, each schema message stays short (values are cut)."""
    doc = parse_yaml(_aliased(150, where=where), "big.yaml")
    start = time.process_time()
    problems = check(doc)
    assert time.process_time() - start < 3
    assert problems
    assert all(len(d.format()) < 700 for d in problems), [d.format()[:200] for d in problems]


def test_long_keys_and_values_are_cut_in_schema_messages():
    key, value = "k" * 50_000, "v" * 50_000
    doc = parse_yaml(f"archspec: {value}\n? {key}\n: 1\nname: n\ninput: [1, 1, 1]\nstages: {{}}\n", "big.yaml")
    problems = check(doc)
    assert len(problems) == 2
    assert all(len(d.message) < 500 for d in problems), [d.message[:200] for d in problems]

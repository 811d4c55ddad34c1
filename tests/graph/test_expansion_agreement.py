"""The builder's fast paths change nothing: expanding with them (``builder.REPLAY``: a step met again in the
same situation takes the attributes, shape, weights and MACs it made before) gives the same graphs, the same
work count and the same diagnostics as expanding without them.

Compared: every network in specs/ with every head and published-weights variant validation expands (every
field of every layer, by ``repr``, so ``1``, ``1.0`` and ``True`` differ), the work counter after each
build, the invalid corpus of tests/lang, and small versions of tests/hostile's expansion-cost shapes plus the
limits and name clashes a replayed step can meet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archspec.graph import builder
from archspec.graph.validate import validate_file, validation_runs
from archspec.lang.compose import SpecCache, load_spec
from archspec.limits import DEFAULT_LIMITS
from tests.lang.corpus import INVALID, VALID, cases, header
from tests.support.files import write
from tests.support.paths import SPECS

NETWORKS = sorted(p for p in SPECS.glob("*.yaml"))
_CACHE = SpecCache()


def _expansions(spec, replay: bool, monkeypatch) -> tuple[list[str], list[int]]:
    """The graphs validation expands (``repr`` of each) and, per build option, the work one build counts."""
    monkeypatch.setattr(builder, "REPLAY", replay)
    runs = validation_runs(spec)
    graphs = [repr(g) for g in builder.expand_heads(spec, runs)]
    work = []
    for options in runs:
        one = builder._Builder(spec, options, DEFAULT_LIMITS)
        one.run()
        work.append(one.work)
    return graphs, work


def _first_difference(fast: str, slow: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(fast, slow)) if a != b), min(len(fast), len(slow)))
    return f"replay: ...{fast[max(0, at - 300):at + 200]}\nplain:  ...{slow[max(0, at - 300):at + 200]}"


@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_every_network_expands_the_same_with_replay(path, monkeypatch) -> None:
    spec = load_spec(path, None, cache=_CACHE)
    fast, fast_work = _expansions(spec, True, monkeypatch)
    slow, slow_work = _expansions(spec, False, monkeypatch)
    assert len(fast) == len(slow) == len(validation_runs(spec))
    for a, b in zip(fast, slow):
        assert a == b, _first_difference(a, b)
    assert fast_work == slow_work


def _diagnostics(path: Path, limits, replay: bool, monkeypatch) -> list[str]:
    monkeypatch.setattr(builder, "REPLAY", replay)
    return [repr(d) for d in validate_file(path, limits, SpecCache(collect=True))]


CORPUS = [*cases(), *sorted(VALID.glob("*.yaml"))]


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(p.parents[1])) for p in CORPUS])
def test_the_lang_corpora_report_the_same_with_replay(path, monkeypatch) -> None:
    limits = header(path)[1] if INVALID in path.parents else DEFAULT_LIMITS
    assert _diagnostics(path, limits, True, monkeypatch) == _diagnostics(path, limits, False, monkeypatch)


HEAD = "archspec: 1\nname: n\ninput: [8, 8, 3]\n"
BOTTLENECK = """templates:
  t:
    params: {k: 4}
    body:
      - {op: conv2d, filters: k, kernel_size: 3, padding: same, name: "{block}_conv"}
      - {op: batch_norm, name: "{block}_bn"}
      - {op: activation, activation: relu, name: "{block}_relu"}
"""
# name: (spec text, lowered limits, what the first error says): tests/hostile/test_expansion_costs.py's shapes at
# a small scale, and every way a replayed step can still fail (the limits, a clash, a name that breaks later)
REPEATED = HEAD + BOTTLENECK + "stages:\n  s: {block: t, repeat: 40}\n"
EDGES = {
    "at_keys": (HEAD + "templates:\n  t:\n    params: {k: 0}\n    body: [{op: batch_norm}]\nstages:\n"
                "  s: {block: t, repeat: 300, at: {" + ", ".join(f"{i}: {{k: 1}}" for i in range(1, 301)) + "}}\n",
                {}, None),
    "parameters_repeated": (HEAD + "templates:\n  t:\n    params: {" + ", ".join(f"p{i}: {i}" for i in range(300))
                            + "}\n    body: [{op: batch_norm}]\nstages:\n  s: {block: t, repeat: 100}\n",
                            {"steps": 20_000}, "limit 'steps'"),
    "vars_and_steps": (HEAD + "vars: {" + ", ".join(f"v{i}: {i}" for i in range(300)) + "}\nstages:\n  s:\n"
                       "    repeat: 20\n    body:\n" + "      - {op: batch_norm}\n" * 50, {}, None),
    "unknown_names": (HEAD + "vars: {" + ", ".join(f"v{i}: {i}" for i in range(200)) + "}\nstages:\n  s:\n"
                      "    body:\n" + "".join(f"      - {{op: dropout, rate: unknown{i}}}\n" for i in range(30)),
                      {}, "unknown name 'unknown0'"),
    "params_total": (HEAD + "stages:\n  s:\n    body:\n" + "      - {op: conv2d, filters: 1000, kernel_size: 3}\n" * 2,
                     {"params": 1_000_000}, "limit 'params'"),
    "steps_in_a_replayed_step": (REPEATED, {"steps": 103}, "limit 'steps'"),
    "params_at_a_replayed_layer": (REPEATED, {"params": 1000}, "limit 'params'"),
    "layers_at_a_replayed_layer": (REPEATED, {"layers": 50}, "limit 'layers'"),
    "duplicate_name_at_a_replayed_layer": (HEAD + BOTTLENECK + "stages:\n  s: {block: t, repeat: 4, "
                                           "block_name: 'b{i % 3}'}\n", {}, "duplicate layer name 'b1_conv'"),
    "name_fails_at_a_later_repeat": (HEAD + BOTTLENECK.replace('"{block}_bn"', '"{block}_{10 // (3 - i)}"')
                                     + "stages:\n  s: {block: t, repeat: 4}\n", {}, "division by zero"),
    "int_bits_at_a_later_repeat": (HEAD + "stages:\n  s:\n    repeat: 3\n    body:\n"
                                   "      - {op: dropout, rate: 0.5, noise_shape: [null, 1, 1, '3 + 0 * (2 ** 40 * 2 ** (10 * i))']}\n",
                                   {}, "integer result too large"),
    "checkpoint_key_of_a_replayed_step": (HEAD + "checkpoint: torchvision\n" + BOTTLENECK.replace(
        '"{block}_bn"}', '"{block}_bn", checkpoint: "{None if i == 2 else block}"}')
        + "stages:\n  s: {block: t, repeat: 3}\n", {}, None),
}


@pytest.mark.parametrize("name", EDGES)
def test_limits_and_clashes_are_reported_the_same_with_replay(name, tmp_path, monkeypatch) -> None:
    text, lowered, first_error = EDGES[name]
    path = write(tmp_path / f"{name}.yaml", text)
    limits = DEFAULT_LIMITS.with_overrides(lowered)
    fast = _diagnostics(path, limits, True, monkeypatch)
    assert fast == _diagnostics(path, limits, False, monkeypatch)
    errors = [d for d in fast if "severity='error'" in d]
    assert (first_error in errors[0]) if first_error else not errors, fast


def test_replay_happens() -> None:
    """The repeats of a block take their steps' results from the first: the fast path is taken at all."""
    spec = load_spec(SPECS / "resnet50.yaml", None, cache=_CACHE)
    one = builder._Builder(spec, builder.BuildOptions(), DEFAULT_LIMITS)
    graph = one.run()
    assert 0 < len(one.memo.steps) < len(graph.layers) / 2

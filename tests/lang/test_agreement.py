"""The static checker and the builder apply one rulebook, so they agree on every spec.

For each spec (the valid and invalid corpora, every bundled spec, and generated mutants of the bundled
ones): the builder alone either accepts every head the spec declares and the checker (``validate``)
accepts, or the builder's first diagnostic -- same message, same file and line -- is among the
checker's. Before the rulebook, the two kept their own copies of ~16 rules and had drifted
(``a/b`` as a layer name passed ``expand`` but not ``validate``).
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from archspec.errors import SpecError
from archspec.graph.builder import BuildOptions, expand
from archspec.graph.validate import validate_spec
from archspec.lang.compose import load_spec
from tests.lang.corpus import INVALID, VALID, cases, header
from tests.support.paths import ROOT, SPECS

MUTANTS = 520
HEAVY = re.compile(r"efficientnet_(b[1-7]|v2_[sml])$|inception_resnet_v2$|densenet(169|201)$|resnet152|convnext_(?!tiny)")  # same
# templates as a lighter sibling: mutating those only costs time
_NUMBER = re.compile(r"(?<![\w.{])-?\d+(?![\w.}])")
_WORD = re.compile(r"\b(filters|stride|project|prev|input|relu|same|valid|conv2d|batch_norm|add|concat|"
                   r"kernel_size|strides|repeat|first|last|in_channels|growth_rate|scale|units|classes)\b")
REPLACEMENTS = ["0", "1", "2", "3", "-1", "5", "7", "13", "64", "2.5", "true", "'x'", "prev", "input", "filtres",
                "strides", "a/b", "conv2d", "dense", "in_channels * 0", "i", "last", "4 * filters", "foo"]


def _heads(spec) -> list[BuildOptions]:
    head = spec.data.get("head")
    runs = [BuildOptions()]
    if isinstance(head, dict):
        runs += [BuildOptions(include_top=False, pooling=p) for p in ("avg", "max") if p in head]
    return runs


def _agree(path: Path, limits=None) -> str:
    """'load' (rejected before either runs), 'accept' or 'reject'; asserts the agreement."""
    kwargs = {"limits": limits} if limits is not None else {}
    try:
        spec = load_spec(path, **kwargs)
    except SpecError:
        return "load"
    if spec.data.get("kind", "network") != "network":
        return "library"
    checker = [d for d in validate_spec(spec, **kwargs) if d.severity == "error"]
    for options in _heads(spec):
        try:
            expand(spec, options, **kwargs)
        except SpecError as exc:
            first = exc.diagnostics[0]
            fired = first.origin or first.location
            assert any(d.message == first.message and (d.origin or d.location) == fired for d in checker), (
                f"{path}: the builder stops at\n  {first.format()}\nwhich the checker does not report; it reports\n  "
                + "\n  ".join(d.format() for d in checker))
            return "reject"
    assert not checker, f"{path}: the builder accepts every head, the checker reports\n  " + "\n  ".join(
        d.format() for d in checker)
    return "accept"


def _corpus() -> list[Path]:
    valid = sorted(p for p in VALID.rglob("*.yaml"))
    return [*valid, *cases(), *sorted(SPECS.glob("*.yaml"))]


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_files(path: Path) -> None:
    limits = header(path)[1] if INVALID in path.parents else None
    outcome = _agree(path, limits)
    if VALID in path.parents or path.parent == SPECS:
        assert outcome in ("accept", "library"), f"{path} should be valid"


def _mutant(rng: random.Random, lines: list[str]) -> list[str]:
    lines = list(lines)
    for _ in range(rng.randint(1, 2)):
        k = rng.randrange(len(lines))
        found = [*_NUMBER.finditer(lines[k]), *_WORD.finditer(lines[k])]
        if found:
            m = rng.choice(found)
            lines[k] = lines[k][: m.start()] + rng.choice(REPLACEMENTS) + lines[k][m.end():]
    return lines


def test_generated_mutants(tmp_path: Path) -> None:
    """At least 500 mutants of the bundled specs and libraries, rejected by neither or by both alike."""
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    sources = sorted(p.relative_to(root) for p in root.rglob("*.yaml") if not HEAVY.match(p.stem))
    networks = {rel: [n for n in sorted(root.glob("*.yaml")) if f"lib/{rel.name}" in n.read_text("utf-8")][:1]
                for rel in sources if rel.parent.name == "lib"}
    rng = random.Random(20261123)
    outcomes: dict[str, int] = {}
    checked = 0
    while checked < MUTANTS:
        rel = rng.choice(sources)
        target = root / rel
        original = target.read_text(encoding="utf-8")
        target.write_text("\n".join(_mutant(rng, original.split("\n"))), encoding="utf-8")
        try:
            for path in networks.get(rel) or [target]:
                outcome = _agree(path)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                checked += 1
        finally:
            target.write_text(original, encoding="utf-8")
    assert outcomes.get("reject", 0) > 50 and outcomes.get("accept", 0) > 50, outcomes  # the mutants exercise both

"""Property: any mutation of a shipped spec gives clean located diagnostics or a spec that expands.

Mutations are the mistakes people make while editing: a changed number or name, a deleted or
duplicated line, a truncated file, an unknown key. Whatever the result, validation must not raise,
must point every error at a line, and must accept only specs that expand.
(``ARCHSPEC_MUTATION_EXAMPLES=2000`` runs a longer hunt.)
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from archspec.api import expand
from archspec.graph.validate import validate_file
from archspec.lang.compose import SpecCache
from tests.support.paths import SPECS

FILES = sorted(p.relative_to(SPECS) for p in SPECS.rglob("*.yaml"))
EXAMPLES = int(os.environ.get("ARCHSPEC_MUTATION_EXAMPLES", "60"))
NUMBERS = ["0", "1", "2", "3", "-1", "7", "64", "1000000000000000000000000", "2.5", "1e-5", "null", "true", "''"]
NAMES = ["bottleneck", "botleneck", "conv2d", "filters", "prev", "input", "foo", "relu", "same", "stride", "i",
         "{block}_x", "in_channels", "4 * filters", "x.y", "1 / 0", "classes", "repeat", "at", "first"]
_NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@st.composite
def mutation(draw: st.DrawFn) -> tuple[Path, str]:
    rel = draw(st.sampled_from(FILES))
    lines = (SPECS / rel).read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["number", "name", "delete", "duplicate", "truncate", "insert"]))
        k = draw(st.integers(0, len(lines) - 1))
        line = lines[k]
        if kind in ("number", "name"):
            found = list((_NUMBER if kind == "number" else _WORD).finditer(line))
            if found:
                m = found[draw(st.integers(0, len(found) - 1))]
                new = draw(st.sampled_from(NUMBERS if kind == "number" else NAMES))
                lines[k] = line[: m.start()] + new + line[m.end():]
        elif kind == "delete" and len(lines) > 1:
            del lines[k]
        elif kind == "duplicate":
            lines.insert(k, line)
        elif kind == "truncate":
            cut = draw(st.integers(0, len(line)))
            lines = lines[:k] + [line[:cut]]
        else:
            indent = " " * draw(st.sampled_from([0, 2, 4, 6]))
            key = draw(st.sampled_from(["colour", "filtrs", "repeat", "at", "op", "use", "kind", "body"]))
            lines.insert(k, f"{indent}{key}: {draw(st.sampled_from(NUMBERS + ['[]', '{}']))}")
    return rel, "\n".join(lines)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zoo") / "specs"
    shutil.copytree(SPECS, root)
    return root


def _importers(zoo: Path, rel: Path) -> list[Path]:
    """Networks that import the library ``rel`` (so a broken library is also checked where it is used)."""
    return [p for p in sorted(zoo.glob("*.yaml")) if f"lib/{rel.name}" in p.read_text(encoding="utf-8")][:1]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 60,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation())
def test_mutated_specs_give_located_diagnostics_or_expand(zoo: Path, case: tuple[Path, str]) -> None:
    rel, text = case
    target = zoo / rel
    original = (SPECS / rel).read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    try:
        for path in [target, *(_importers(zoo, rel) if rel.parent.name == "lib" else [])]:
            diags = validate_file(path, cache=SpecCache(collect=True))
            errors = [d for d in diags if d.severity == "error"]
            for d in errors:
                assert d.location is not None and d.location.line is not None, d.format()
                assert "internal error" not in d.message
            if not errors and "kind: library" not in path.read_text(encoding="utf-8"):
                assert len(expand(path)) > 1
    finally:
        target.write_text(original, encoding="utf-8")

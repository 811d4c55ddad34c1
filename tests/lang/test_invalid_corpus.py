"""Every invalid spec in tests/lang/invalid/ yields exactly the errors its header declares, each once."""

from __future__ import annotations

import time
import tracemalloc

from pathlib import Path

import pytest

from archspec.errors import SpecError

from archspec.graph.validate import validate_file
from archspec.lang.compose import SpecCache
from archspec.lang.yaml_loader import load_document
from tests.lang.corpus import INVALID, cases, header

CASES = cases()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert all(header(p)[0] for p in CASES), "every case declares its expected errors"


@pytest.mark.parametrize("path", CASES, ids=[str(p.relative_to(INVALID)) for p in CASES])
def test_invalid_spec(path) -> None:
    expects, limits = header(path)
    diags = validate_file(path, limits, SpecCache(collect=True))
    errors = [d for d in diags if d.severity == "error"]
    shown = "\n".join(d.format() for d in diags)
    for expect in expects:
        assert any(expect.matches(d, path) for d in diags), f"missing {expect}; got:\n{shown}"
    extra = [d for d in errors if not any(e.matches(d, path) for e in expects)]
    assert not extra, f"unexpected errors:\n{shown}"
    assert len(errors) == sum(e.severity == "error" for e in expects), f"duplicate reports:\n{shown}"
    stray = [d.format() for d in diags if not _pointer_on_its_line(d)]
    assert not stray, "pointers that do not belong to the line they follow:\n" + "\n".join(stray)


def _pointer_on_its_line(diag) -> bool:
    """A printed JSON pointer names the value (or key) at the line it follows, in that line's file."""
    loc = diag.location
    if not diag.pointer or loc is None or loc.line is None or not Path(loc.file).is_file():
        return True
    try:
        doc = load_document(Path(loc.file))
    except SpecError:
        return True
    parts = [p.replace("~1", "/").replace("~0", "~") for p in diag.pointer.split("/")[1:]]
    paths = {tuple(parts), tuple(int(p) if p.isdigit() else p for p in parts)}  # a list index or an 'at' key
    return loc.line in {at.line for path in paths for at in (doc.locs.get(path), doc.key_locs.get(path)) if at}


def test_alias_bomb_is_rejected_fast_with_bounded_memory() -> None:
    path = INVALID / "alias_bomb.yaml"
    tracemalloc.start()
    start = time.perf_counter()
    diags = validate_file(path)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "alias bomb" in diags[0].message
    assert elapsed < 0.5, f"took {elapsed:.2f}s"
    assert peak < 5_000_000, f"peak {peak} bytes"

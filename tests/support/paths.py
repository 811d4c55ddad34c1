"""The repository's folders, named once for every test (no test computes them from its own ``__file__``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "archspec"
SPECS = ROOT / "specs"
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"

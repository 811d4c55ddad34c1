"""The one file writer of the tests: fixtures are written per test into ``tmp_path``."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (UTF-8), making its folders, and return the path.

    Texts may be indented like the code around them: the common indentation is removed (unindented text is
    written as given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path

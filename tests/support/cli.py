"""The in-process CLI runner and the file writer shared by the tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archspec.cli import main


@pytest.fixture
def cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """``cli(cwd, *args) -> (exit code, stdout, stderr)``, run in process from ``cwd``."""

    def run(cwd: Path, *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse and a refused -o exit directly (2)
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path

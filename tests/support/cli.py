"""The one in-process CLI runner of the tests: ``archspec ARGS`` without an interpreter start-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest


class Run(NamedTuple):
    """What a command left: its exit code and what it printed."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """``cli(*args, cwd=None) -> Run(code, out, err)``: ``archspec ARGS`` in this process, from ``cwd`` if given.

    Output printed before the call is dropped. argparse and a refused ``-o`` end the command with
    ``SystemExit`` (exit 2), which becomes the exit code, as a user's shell would see it."""

    def run(*args: object, cwd: Path | None = None) -> Run:
        from archspec.cli import main

        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run

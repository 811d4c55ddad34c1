"""Progress of long work, for whoever listens: library code marks its phases, the command line draws them.

``with stage("building 177 layers", total=177): ... advance()`` costs a context-variable lookup when nobody
listens (the Python API, tests, pipes); the CLI installs a reporter (``reporting``) that draws a bar on a
terminal (archspec/cli/progress.py).
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator, Protocol, Sequence, TypeVar

T = TypeVar("T")


class Reporter(Protocol):
    def start(self, text: str, total: int | None) -> None: ...
    def advance(self, steps: int) -> None: ...
    def end(self) -> None: ...


_REPORTER: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("archspec_progress", default=None)


@contextlib.contextmanager
def stage(text: str, total: int | None = None) -> Iterator[None]:
    """One phase of work (``total`` steps, or open-ended), shown while the block runs."""
    reporter = _REPORTER.get()
    if reporter is None:
        yield
        return
    reporter.start(text, total)
    try:
        yield
    finally:
        reporter.end()


def advance(steps: int = 1) -> None:
    """``steps`` more of the current phase are done."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter.advance(steps)


@contextlib.contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the phases of the work done in the block to ``reporter`` (``None``: to nobody)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def counted(items: Sequence[T], text: str) -> Iterator[T]:
    """``items`` one by one, as one phase of ``len(items)`` steps (``for layer in counted(layers, "building")``)."""
    with stage(text, total=len(items)):
        for item in items:
            yield item
            advance()

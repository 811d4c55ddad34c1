"""Progress bars on a terminal for long commands (build, convert, export, check-weights), drawn with rich.

Only when stderr is a terminal and ``-q`` is not given; logs and CI output (a pipe or a file) stay as they
were. rich comes with Keras; on a base install without it nothing is drawn. The bars are transient (they
disappear when a phase ends) and go to the terminal directly, past the TensorFlow start-up filter that
redirects file descriptor 2 (archspec/cli/quiet.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator

from archspec.errors import printable
from archspec.progress import reporting


@contextlib.contextmanager
def terminal_progress(quiet: bool) -> Iterator[None]:
    """Draw the phases of the work in the block on the terminal, when there is one to draw on."""
    stream = getattr(sys.stderr, "_raw", sys.stderr)  # below the SafeText wrapper: rich writes the escapes
    if quiet or not _isatty(stream):
        yield
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:  # a base install: no bars
        yield
        return
    with os.fdopen(os.dup(stream.fileno()), "w", closefd=True) as terminal:
        console = Console(file=terminal, force_terminal=True)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True, redirect_stdout=False, redirect_stderr=False) \
                as bars, reporting(_Rich(bars)):
            yield


def _isatty(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Rich:
    """One line per running phase (nested phases stack), removed when the phase ends."""

    def __init__(self, bars: Any):
        self.bars = bars
        self.tasks: list[Any] = []

    def start(self, text: str, total: int | None) -> None:
        from rich.markup import escape

        self.tasks.append(self.bars.add_task(escape(printable(text)), total=total))

    def advance(self, steps: int) -> None:
        if self.tasks:
            self.bars.advance(self.tasks[-1], steps)

    def end(self) -> None:
        if self.tasks:
            self.bars.remove_task(self.tasks.pop())

"""Diagnostics: every user-facing problem carries the spec file, line and column it came from."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Location:
    """A 1-based position in a spec file (or a pseudo-file such as ``<--set>``)."""

    file: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one spec, formatted as ``file:line:col: error: message [pointer]``."""

    message: str
    location: Location | None = None
    pointer: str | None = None
    hint: str | None = None
    severity: str = "error"

    def format(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity}: {self.message}"
        if self.pointer is not None:
            text += f" [{self.pointer or '/'}]"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict:
        loc = self.location
        return {
            "severity": self.severity,
            "message": self.message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "col": loc.col if loc else None,
            "pointer": self.pointer,
            "hint": self.hint,
        }


class SpecError(Exception):
    """Raised with one or more diagnostics; the CLI prints them and exits 1."""

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


@dataclass
class DiagnosticSink:
    """Collects diagnostics so a run can report every problem, not just the first."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Suggest the closest known name, the way compilers do for typos."""
    matches = difflib.get_close_matches(str(word), sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None

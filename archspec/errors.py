"""Diagnostics: every user-facing problem carries the spec file, line and column it came from."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable

# C0/C1 controls and DEL, the Unicode line/paragraph separators, bidirectional overrides and isolates
# ("Trojan Source"), and lone surrogates (not encodable: printing one would crash the run)
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def line_safe(text: str) -> str:
    """Like :func:`printable` but keeping newlines and tabs: for whole multi-line reports."""
    return UNPRINTABLE.sub(lambda m: m.group() if m.group() in "\n\t" else _escape(m), text) \
        if UNPRINTABLE.search(text) else text


def printable(text: object) -> str:
    """``text`` safe for one line of terminal or CI-log output: control characters, line breaks, bidi
    overrides and lone surrogates are written as escapes (``\\n``, ``\\x1b``, ``\\u202e``), so a crafted
    name cannot start a forged ``file:1:1: error:`` line, a ``::error`` workflow command, or an ANSI
    escape sequence. Ordinary text, including non-ASCII letters, is unchanged."""
    text = str(text)
    return UNPRINTABLE.sub(_escape, text) if UNPRINTABLE.search(text) else text


@dataclass(frozen=True)
class Location:
    """A 1-based position in a spec file (or a pseudo-file such as ``<--set>``)."""

    file: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return printable(self.file)
        return f"{printable(self.file)}:{self.line}:{self.col or 1}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one spec, formatted as ``file:line:col: error: message [pointer]``."""

    message: str
    location: Location | None = None
    pointer: str | None = None
    hint: str | None = None
    severity: str = "error"
    # where the rule fired, when that is inside a template of a file the user did not name (a library);
    # ``location`` is then the user's own call site and notes follow with the chain of calls
    origin: Location | None = None

    def format(self) -> str:
        """One line of text; control characters in any part are escaped (see :func:`printable`)."""
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity}: {printable(self.message)}"
        if self.pointer is not None:
            text += f" [{printable(self.pointer) or '/'}]"
        if self.hint:
            text += f" ({printable(self.hint)})"
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
            "origin": str(self.origin) if self.origin else None,
        }


def with_notes(diagnostics: Iterable[Diagnostic]) -> list[list[Diagnostic]]:
    """The diagnostics as groups, each problem with the notes that follow it (its chain of calls and the
    places its values were written), so sorting or filtering never separates a note from its problem."""
    groups: list[list[Diagnostic]] = []
    for d in diagnostics:
        if d.severity == "note" and groups:
            groups[-1].append(d)
        else:
            groups.append([d])
    return groups


class SpecError(ValueError):
    """Raised with one or more diagnostics; the CLI prints them and exits 1.

    A ``ValueError``, as the errors of ``keras.applications`` are, so ``except ValueError`` catches it."""

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


_HINT_CANDIDATES = 300  # the cost of one suggestion is bounded, however many names a spec declares


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Suggest the closest known name, the way compilers do for typos. Among thousands of names only the
    few hundred closest in length are compared (a typo rarely changes the length by much)."""
    word = str(word)
    pool = sorted(set(candidates))
    if len(pool) > _HINT_CANDIDATES:
        pool = sorted(pool, key=lambda c: (abs(len(c) - len(word)), c))[:_HINT_CANDIDATES]
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None

"""The invalid-spec corpus: each case states the errors it must produce in ``# expect:`` header comments.

``# expect: [FILE:]LINE: fragment | fragment`` -- one line per error diagnostic, LINE ``-`` for a problem
without a line (e.g. a file too large to read); every fragment must occur in the formatted diagnostic.
``# note: [FILE:]LINE: fragment`` -- a note that must follow the errors (e.g. the library line where a
value was written); notes not declared are allowed.
``# limits: NAME=N,...`` lowers limits for the case. A folder case (extends/imports) has ``main.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from archspec.errors import Diagnostic
from archspec.limits import DEFAULT_LIMITS, Limits

INVALID = Path(__file__).parent / "invalid"
VALID = Path(__file__).parent / "valid"
_EXPECT = re.compile(r"^# (?P<kind>expect|note): (?:(?P<file>[\w./-]+\.ya?ml):)?(?P<line>\d+|-): (?P<frags>.+)$")


@dataclass(frozen=True)
class Expect:
    file: str | None
    line: int | None
    fragments: tuple[str, ...]
    severity: str = "error"

    def matches(self, diag: Diagnostic, main: Path) -> bool:
        loc = diag.location
        want_file = self.file or main.name
        return (loc is not None and diag.severity == self.severity and Path(loc.file).name == want_file
                and loc.line == self.line and all(f in diag.format() for f in self.fragments))

    def __str__(self) -> str:
        return f"{self.file or ''}:{self.line}: {' | '.join(self.fragments)}"


def cases() -> list[Path]:
    return sorted(p if p.is_file() else p / "main.yaml" for p in INVALID.iterdir()
                  if p.suffix == ".yaml" or (p / "main.yaml").is_file())


def header(path: Path) -> tuple[list[Expect], Limits]:
    expects, limits = [], DEFAULT_LIMITS
    for raw in path.read_bytes().split(b"\n"):
        line = raw.decode("latin-1")
        if not line.startswith("# "):
            break
        if m := _EXPECT.match(line):
            num = None if m["line"] == "-" else int(m["line"])
            severity = "error" if m["kind"] == "expect" else "note"
            expects.append(Expect(m["file"], num, tuple(f.strip() for f in m["frags"].split(" | ")), severity))
        elif line.startswith("# limits: "):
            items = dict(item.split("=") for item in line[len("# limits: "):].split(","))
            limits = limits.with_overrides({k.strip(): int(v) for k, v in items.items()})
    return expects, limits

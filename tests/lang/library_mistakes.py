"""Single-edit mistakes in the bundled libraries, validated as a library author's pre-commit hook does.

Each mutant changes one number of one ``specs/lib/*.yaml`` line (to 0, -1, 3.5, null, [], a huge number,
...) in a copy of ``specs/``; ``archspec validate lib/X.yaml`` then runs from the copy's root, which checks
the library through the networks that import it. When it reports an error, the output must name the
library line that was edited (the first line stays at the user's own call site; a note names where the
value was written), and every JSON pointer printed must belong to the line it follows.

``python -m tests.lang.library_mistakes [N] [SEED]`` runs N mutants and prints those that miss.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from archspec.cli import main
from archspec.lang.yaml_loader import load_document
from tests.support.paths import SPECS

LIBRARIES = sorted(p.name for p in (SPECS / "lib").glob("*.yaml"))
NUMBER = re.compile(r"(?<![\w.{'\"-])\d+(\.\d+)?(?![\w.}'\"])")
VALUES = ["0", "-1", "3.5", "null", "[]", "''", "1000000", "100000000", "2", "7"]
_LINE = re.compile(r"^(?P<file>\S+?\.ya?ml):(?P<line>\d+):\d+: (?P<sev>error|note): .*?"
                   r"(?: \[(?P<ptr>(?:/[^\]\[]*)?)\])?(?: \(.*\))?$")


@dataclass
class Outcome:
    lib: str
    line: int  # 1-based line edited
    before: str
    after: str
    output: str
    errors: int
    names_line: bool
    bad_pointers: list[str]

    @property
    def missed(self) -> bool:
        return self.errors > 0 and (not self.names_line or bool(self.bad_pointers))


def mutate(rng: random.Random, text: str) -> tuple[int, str, str] | None:
    """One number on one line replaced: (line number, the new line, the new text); None if the pick has none."""
    lines = text.split("\n")
    k = rng.randrange(len(lines))
    if lines[k].lstrip().startswith("#"):
        return None
    found = list(NUMBER.finditer(lines[k]))
    if not found:
        return None
    m = rng.choice(found)
    new = lines[k][: m.start()] + rng.choice(VALUES) + lines[k][m.end():]
    return k + 1, new, "\n".join(lines[:k] + [new] + lines[k + 1:])


def _pointer_path(pointer: str) -> tuple:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []
    return tuple(int(p) if p.isdigit() else p for p in parts)


def bad_pointers(output: str, root: Path) -> list[str]:
    """Printed lines whose pointer is not at the line they name (in the file they name)."""
    bad = []
    for text in output.splitlines():
        m = _LINE.match(text)
        if not m or m["ptr"] is None:
            continue
        try:
            doc = load_document(root / m["file"])
        except Exception:  # noqa: BLE001 - a file that does not load has no pointers to check
            continue
        path = _pointer_path(m["ptr"])
        as_text = tuple(str(p) for p in path)  # a key written as a number ('at: {1: ...}') is a string key
        lines = {loc.line for p in (path, as_text) for loc in (doc.locs.get(p), doc.key_locs.get(p)) if loc}
        if int(m["line"]) not in lines:
            bad.append(text)
    return bad


def validate_library(root: Path, lib: str) -> str:
    """``archspec validate lib/<lib>`` run in ``root``: what it prints."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["validate", "--format", "text", f"lib/{lib}"])
    finally:
        os.chdir(cwd)
    return out.getvalue()


def run(n: int, seed: int = 26, libraries: list[str] | None = None) -> list[Outcome]:
    rng = random.Random(seed)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "specs"
        shutil.copytree(SPECS, root)
        while len(outcomes) < n:
            lib = rng.choice(libraries or LIBRARIES)
            target = root / "lib" / lib
            original = target.read_text(encoding="utf-8")
            made = mutate(rng, original)
            if made is None:
                continue
            line, new, text = made
            target.write_text(text, encoding="utf-8")
            try:
                output = validate_library(root, lib)
            finally:
                target.write_text(original, encoding="utf-8")
            errors = sum(1 for t in output.splitlines() if ": error: " in t)
            outcomes.append(Outcome(lib, line, original.split("\n")[line - 1].strip(), new.strip(), output, errors,
                                    f"lib/{lib}:{line}:" in output, bad_pointers(output, root)))
    return outcomes


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    results = run(count, int(sys.argv[2]) if len(sys.argv) > 2 else 26)
    rejected = [o for o in results if o.errors]
    missed = [o for o in results if o.missed]
    for o in missed:
        print(f"--- lib/{o.lib}:{o.line}: {o.before!r} -> {o.after!r}")
        print(o.output.rstrip())
        for b in o.bad_pointers:
            print(f"  (pointer not on its line) {b}")
    notes = [sum(": note: " in t for t in o.output.splitlines()) for o in rejected]
    print(f"{len(results)} mutants, {len(rejected)} rejected, {len(missed)} miss the library line or a pointer "
          f"({sum(not o.names_line for o in rejected)} without the line, "
          f"{sum(bool(o.bad_pointers) for o in rejected)} with a stray pointer); notes per rejected mutant: "
          f"mean {sum(notes) / max(len(notes), 1):.1f}, most {max(notes, default=0)}")

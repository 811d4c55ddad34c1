"""Report formats for diagnostics: compiler-style text, JSON for tools, GitHub Actions annotations."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Iterator, TextIO

from archspec.errors import Diagnostic, line_safe, printable

FORMATS = ("text", "json", "github", "sarif")


class SafeText:
    """A text stream that escapes control characters other than newline and tab (ANSI sequences,
    carriage returns, bidi overrides, lone surrogates) in everything written to it. Every CLI command
    writes through it, so no report can colour, rewrite or hide terminal and CI-log lines, whatever the
    names it prints; binary output goes to ``.buffer`` untouched."""

    def __init__(self, raw: TextIO):
        self._raw = raw

    def write(self, text: str) -> int:
        self._raw.write(line_safe(text))
        return len(text)

    def __getattr__(self, name: str):  # buffer, flush, fileno, isatty, encoding...
        return getattr(self._raw, name)


@contextlib.contextmanager
def safe_text_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` wrapped in :class:`SafeText` for the duration of the block."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeText(saved[0]), SafeText(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def default_format() -> str:
    """GitHub annotations inside GitHub Actions (they show on the pull request's diff), text elsewhere."""
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


class Reporter:
    """Prints one file's result as soon as it is known; a problem shared by several files prints once.

    Several networks importing one broken library would otherwise repeat the library's errors for each
    network; the JSON format keeps every file's full list, since tools read files independently.
    """

    def __init__(self, fmt: str, out: TextIO, quiet: bool = False):
        self.fmt = fmt
        self.out = out
        self.quiet = quiet
        self.shown: set[tuple] = set()
        self.results: list[dict] = []

    def file(self, path: str, diagnostics: list[Diagnostic]) -> None:
        ok = not any(d.severity == "error" for d in diagnostics)
        if self.fmt == "sarif":
            self.results.append((path, diagnostics))
            return
        if self.fmt == "json":
            self.results.append({"file": path, "valid": ok, "diagnostics": [d.to_dict() for d in diagnostics]})
            return
        if ok:
            if not self.quiet and self.fmt == "text":
                print(f"{printable(path)}: ok", file=self.out)
            return
        for d in diagnostics:
            key = (d.location, d.message, d.severity)
            if key in self.shown:
                continue
            self.shown.add(key)
            print(d.format() if self.fmt == "text" else github_annotation(d, path), file=self.out)

    def finish(self) -> None:
        if self.fmt == "json":
            json.dump(self.results, self.out, indent=1)
            self.out.write("\n")
        elif self.fmt == "sarif":
            from archspec import __version__
            from archspec.cli.sarif import sarif_log

            json.dump(sarif_log(self.results, __version__), self.out, indent=1)
            self.out.write("\n")


def github_annotation(diag: Diagnostic, fallback_file: str) -> str:
    """``::error file=F,line=L,col=C,title=archspec::message`` with GitHub's escaping."""
    loc = diag.location
    props = {"file": loc.file if loc else fallback_file}
    if loc and loc.line is not None:
        props["line"] = str(loc.line)
        props["col"] = str(loc.col or 1)
    props["title"] = "archspec"
    level = {"error": "error", "warning": "warning"}.get(diag.severity, "notice")
    message = diag.message
    if diag.pointer:
        message += f" [{diag.pointer}]"
    if diag.hint:
        message += f" ({diag.hint})"
    head = ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
    return f"::{level} {head}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    text = printable(text)  # ANSI escapes, bidi overrides, NUL...: escaped like the text format does
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")

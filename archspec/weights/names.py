"""Names read from weight files (tensor, layer and weight names) are echoed in reports: each is checked once,
when the file is read, so that no message can be forged or flooded by one."""

from __future__ import annotations

from archspec.errors import UNPRINTABLE, Diagnostic, Location, SpecError, printable

NAME_CHARS = 1024  # longer than any name a framework writes (a module path, a Keras layer path)
SHOWN_CHARS = 80  # of a refused name, in its message


def shown(name: str) -> str:
    """``name`` for one line of a message: escaped, and cut to its first characters when long."""
    cut = name[:SHOWN_CHARS]
    return printable(cut) + (f"... ({len(name)} characters)" if len(name) > SHOWN_CHARS else "")


def check_name(name: str, where: Location, what: str = "name", pointer: str | None = None) -> str:
    """``name``, refused when it holds a control character (a line break or escape sequence could forge output
    lines) or is longer than :data:`NAME_CHARS` (a 5 MB name would be echoed by every report)."""
    if len(name) > NAME_CHARS:
        raise SpecError(Diagnostic(f"{what} {shown(name)!r} is longer than {NAME_CHARS} characters", where, pointer))
    if UNPRINTABLE.search(name):
        raise SpecError(Diagnostic(f"{what} {shown(name)!r} contains a control character", where, pointer))
    return name

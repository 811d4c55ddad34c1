"""Where specs come from: a path on disk, or the name of a spec bundled with the package."""

from __future__ import annotations

import errno
import glob
import os
import stat
from functools import lru_cache
from pathlib import Path

from archspec.errors import Diagnostic, Location, SpecError, did_you_mean
from archspec.fileio import file_kind

BUNDLED_PREFIX = "archspec:"


@lru_cache(maxsize=1)
def bundled_dir() -> Path:
    """The zoo folder: ``archspec/specs`` in an installed wheel, ``specs/`` in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "specs", package.parent / "specs"):
        if candidate.is_dir():
            return candidate
    return package / "specs"


def shown_path(path: Path) -> Path:
    """``path`` as diagnostics show it: ``..`` folded away, and relative to the current folder when inside it
    (``specs/lib/resnet.yaml`` in a checkout, not ``/home/me/archspec/specs/../specs/lib/resnet.yaml``)."""
    path = Path(os.path.normpath(path))
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd())
        except (ValueError, OSError):  # outside the current folder, or no current folder
            return path
    return path


def bundled_names() -> list[str]:
    """Names of the bundled network specs (library files under ``lib/`` excluded)."""
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


def resolve_source(source: str | Path) -> Path:
    """A path as given, or ``<zoo>/<name>.yaml`` for a bundled name such as ``"resnet50"``.

    ``archspec:NAME`` (the form ``imports``/``extends`` use) always means the bundled file.
    """
    text = str(source)
    if text.startswith(BUNDLED_PREFIX):
        name = text[len(BUNDLED_PREFIX):]
        bundled = bundled_dir() / (name if Path(name).suffix in (".yaml", ".yml") else f"{name}.yaml")
        if bundled.resolve().is_relative_to(bundled_dir().resolve()) and bundled.is_file():
            return shown_path(bundled)
        raise SpecError(Diagnostic(f"no bundled spec named '{name}'", Location(text),
                                   hint=did_you_mean(name, bundled_names()) or "see 'archspec list'"))
    path = Path(source)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in str(source) or "\\" in str(source):
        check_spec_path(path)
        return path
    bundled = bundled_dir() / f"{source}.yaml"
    if bundled.exists():
        return shown_path(bundled)
    raise SpecError(
        Diagnostic(
            f"no spec file or bundled spec named '{source}'",
            Location(str(source)),
            hint=did_you_mean(str(source), bundled_names()) or "see 'archspec list'",
        )
    )


def check_spec_path(path: str | Path) -> None:
    """Refuse, with a located error, a path that cannot be a spec file: a symlink loop, or something
    other than a regular file or directory (a FIFO would block the reader forever, a device never end).

    A path that does not exist passes: reading it reports "no such file" at the same place.
    """
    where = Location(str(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SpecError(Diagnostic("symlink loop (too many levels of symbolic links)", where)) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise SpecError(Diagnostic("path is too long", where)) from None
        return  # permission problems and the like are reported when the file is read
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise SpecError(Diagnostic(f"not a regular file ({file_kind(st.st_mode)}), not a spec file", where))


def unreadable(path: str | Path) -> list[Diagnostic]:
    """:func:`check_spec_path`'s verdict as a list (empty when the path may be read)."""
    try:
        check_spec_path(path)
    except SpecError as exc:
        return exc.diagnostics
    return []


def expand_glob(pattern: str) -> list[Path]:
    """``glob.glob(pattern, recursive=True)``, sorted, except that ``**`` never descends into a symlinked
    folder: two symlinks to their own folder made ``glob`` walk 2**40 paths (it follows links until the
    kernel's ELOOP). Hidden names match only a pattern part that starts with a dot, as with ``glob``.
    """
    parts = Path(pattern).parts
    first = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    if first == len(parts):
        return [Path(pattern)] if os.path.lexists(pattern) else []
    base = Path(*parts[:first]) if first else Path()
    rest = parts[first:]
    dotted = any(part.startswith(".") for part in rest)
    try:
        found = [m for m in base.glob("/".join(rest))
                 if dotted or not any(p.startswith(".") for p in m.relative_to(base).parts)]
    except (OSError, ValueError):
        return []
    return sorted(found)

"""Where specs come from: a path on disk, or the name of a spec bundled with the package."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from archspec.errors import Diagnostic, Location, SpecError, did_you_mean

BUNDLED_PREFIX = "archspec:"


@lru_cache(maxsize=1)
def bundled_dir() -> Path:
    """The zoo folder: ``archspec/specs`` in an installed wheel, ``specs/`` in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "specs", package.parent / "specs"):
        if candidate.is_dir():
            return candidate
    return package / "specs"


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
            return bundled
        raise SpecError(Diagnostic(f"no bundled spec named '{name}'", Location(text),
                                   hint=did_you_mean(name, bundled_names()) or "see 'archspec list'"))
    path = Path(source)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in str(source) or "\\" in str(source):
        return path
    bundled = bundled_dir() / f"{source}.yaml"
    if bundled.exists():
        return bundled
    raise SpecError(
        Diagnostic(
            f"no spec file or bundled spec named '{source}'",
            Location(str(source)),
            hint=did_you_mean(str(source), bundled_names()) or "see 'archspec list'",
        )
    )

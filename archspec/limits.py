"""Bounds on everything a spec file can make large (documented in docs/spec-language.md#limits)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    """Resource caps. Each can be raised per run with ``--limit NAME=VALUE`` or ``Limits(...)``."""

    file_bytes: int = 1_000_000
    yaml_nodes: int = 100_000
    yaml_chars: int = 2_000_000
    yaml_depth: int = 64
    layers: int = 100_000
    params: int = 1_000_000_000
    steps: int = 500_000
    repeat: int = 10_000
    extends_depth: int = 8
    template_depth: int = 16
    expression_chars: int = 256
    expression_depth: int = 32
    exponent: int = 64
    int_bits: int = 63
    string_chars: int = 4096
    graphviz_seconds: int = 60
    download_bytes: int = 2_000_000_000

    def with_overrides(self, items: dict[str, int]) -> "Limits":
        known = {f.name for f in fields(self)}
        unknown = sorted(set(items) - known)
        if unknown:
            raise ValueError(f"unknown limit {unknown[0]!r}; known limits: {', '.join(sorted(known))}")
        return replace(self, **items)


DEFAULT_LIMITS = Limits()

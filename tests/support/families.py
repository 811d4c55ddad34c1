"""The bundled zoo grouped into families: what a test that exercises generic code (emitters, save/load, other
backends) builds once per family instead of once per spec."""

from __future__ import annotations

import functools
from typing import Callable

import archspec
from archspec.lang.sources import bundled_names


@functools.cache
def family_representatives(shape: Callable[[str], tuple[int, int, int]] | None = None) -> dict[str, str]:
    """Each bundled spec -> the lightest spec built from the same templates and ops (its family's representative),
    their graphs expanded at ``shape(name)`` (each spec's own input size without it). Worked out once per process
    and ``shape``: every spec of the zoo is loaded and expanded (about 5 s); callers must not change the dict.

    Specs of one family differ only in repeat counts and widths, so one build per family reaches every layer class
    and config the family emits; every member's parameter counts are held to its reference from the graph alone
    (tests/zoo, tests/torch). A template parameter can switch layers on or off (efficientnet_b0_timm drops keras's
    Normalization), so a family is the templates and the ops used.
    """
    family, params = {}, {}
    for name in bundled_names():
        spec = archspec.load_spec(name)
        graph = archspec.api.layer_graph(spec, **({"input_shape": shape(name)} if shape else {}))
        family[name] = (frozenset(spec.data.get("templates", {})), frozenset(layer.op for layer in graph))
        params[name] = sum(layer.params for layer in graph)
    return {name: min((n for n in family if family[n] == family[name]), key=lambda n: (params[n], n))
            for name in family}

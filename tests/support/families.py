"""The bundled zoo grouped into families: what a test that exercises generic code (emitters, save/load, other
backends) builds once per family instead of once per spec."""

from __future__ import annotations

from typing import Callable

import archspec
from archspec.lang.sources import bundled_names


def family_representatives(shape: Callable[[str], tuple[int, int, int]] | None = None) -> dict[str, str]:
    """Each bundled spec -> the lightest spec built from the same templates and ops (its family's representative),
    their graphs expanded at ``shape(name)`` (each spec's own input size without it).

    Specs of one family differ only in repeat counts and widths, so one build per family reaches every layer class
    and config the family emits; every member's parameter counts are held to its reference from the graph alone
    (tests/zoo, tests/torch). A template parameter can switch layers on or off (efficientnet_b0_timm drops keras's
    Normalization), so a family is the templates and the ops used.
    """
    graphs = {name: archspec.api.layer_graph(name, **({"input_shape": shape(name)} if shape else {}))
              for name in bundled_names()}
    family = {name: (frozenset(archspec.load_spec(name).data.get("templates", {})), frozenset(l.op for l in graph))
              for name, graph in graphs.items()}
    params = {name: sum(layer.params for layer in graph) for name, graph in graphs.items()}
    return {name: min((n for n in graphs if family[n] == family[name]), key=lambda n: (params[n], n))
            for name in graphs}

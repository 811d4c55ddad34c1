"""Valid fixtures validate cleanly, and a spec that validates builds in Keras (every head it declares)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archspec.api import expand, layer_graph, load_spec, validate, validate_file
from archspec.graph.order import keras_layer_order
from tests.lang.corpus import VALID

FILES = sorted(VALID.rglob("*.yaml"))
NETWORKS = [p for p in FILES if "kind: library" not in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(VALID)) for p in FILES])
def test_valid_fixture_has_no_diagnostics(path: Path) -> None:
    assert [d.format() for d in validate_file(path)] == []


def test_extends_merges_over_the_base() -> None:
    graph = expand(VALID / "extends" / "deeper.yaml")
    assert graph.graph["name"] == "deeper_net"
    assert sum(1 for n in graph.nodes.values() if n["name"].endswith("_add")) == 4


def test_api_validate_reports_overrides() -> None:
    diags = validate(VALID / "tiny_resnet.yaml", overrides={"stages.res1.filters": "2 * bse"})
    assert [d.message for d in diags] == ["unknown name 'bse'"]
    assert diags[0].hint == "did you mean 'base'?"


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_a_valid_spec_builds_with_every_head(path: Path) -> None:
    pytest.importorskip("keras")
    from archspec.api import build

    heads = load_spec(path).data.get("head", {})
    runs = [{}] + [{"include_top": False, "pooling": p} for p in ("avg", "max") if p in heads]
    for options in runs:
        model = build(path, **options)
        graph = layer_graph(path, **options)
        assert [layer.name for layer in model.layers] == [graph.layers[n].name for n in keras_layer_order(graph)]
        assert model.count_params() == sum(layer.params for layer in graph)

"""The README's language tour is a spec that works: it expands to the bundled ResNet-50."""

from __future__ import annotations

import re
from pathlib import Path

import archspec
from archspec.lang.sources import bundled_dir

ROOT = Path(__file__).resolve().parent.parent


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def test_readme_tour_is_the_bundled_resnet50(tmp_path):
    tour = next(b for b in _yaml_blocks((ROOT / "README.md").read_text()) if "name: resnet50" in b)
    lib = bundled_dir() / "lib"
    spec = tmp_path / "tour.yaml"
    spec.write_text(tour.replace("lib/", f"{lib}/"))
    assert archspec.validate(spec) == []
    ours, bundled = archspec.expand(spec), archspec.expand("resnet50")
    assert [d["name"] for d in ours.nodes.values()] == [d["name"] for d in bundled.nodes.values()]
    assert sum(d["params"] for d in ours.nodes.values()) == 25_636_712


def test_spec_language_variant_example_is_resnet101(tmp_path):
    doc = (ROOT / "docs" / "spec-language.md").read_text()
    variant = next(b for b in _yaml_blocks(doc) if "extends: resnet50.yaml" in b)
    spec = tmp_path / "variant.yaml"
    spec.write_text(variant.replace("resnet50.yaml", str(bundled_dir() / "resnet50.yaml")))
    graph = archspec.expand(spec)
    assert sum(1 for d in graph.nodes.values() if d["weights"]) == 209

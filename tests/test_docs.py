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


def _validates(tmp_path, text: str) -> list:
    (tmp_path / ".git").mkdir(exist_ok=True)
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    return [d.format() for d in archspec.validate(path) if d.severity == "error"]


def _indent(block: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in block.splitlines())


def test_the_steps_example_runs_with_the_library_and_vars_the_text_names(tmp_path):
    doc = (ROOT / "docs" / "spec-language.md").read_text()
    steps = next(b for b in _yaml_blocks(doc) if '{use: conv_bn, filters: 32, kernel_size: 3' in b)
    spec = ("archspec: 1\nname: steps\ninput: [32, 32, 3]\nimports: [archspec:lib/inception_resnet.yaml]\n"
            "vars: {bn_suffix: _bn, act_suffix: _ac}\ntemplates:\n  t:\n    params: {filters: 16, stride: 1}\n"
            "    body:\n" + _indent(steps, 6) + "stages:\n  s: {block: t}\n")
    assert _validates(tmp_path, spec) == []


def test_the_inception_branches_example_runs_with_the_library_the_text_names(tmp_path):
    doc = (ROOT / "docs" / "spec-language.md").read_text()
    assert "`imports: [archspec:lib/inception_v3.yaml]`" in doc
    branches = next(b for b in _yaml_blocks(doc) if "name: mixed_5b" in b)
    spec = ("archspec: 1\nname: branches\ninput: [35, 35, 192]\nimports: [archspec:lib/inception_v3.yaml]\n"
            "stages:\n  s:\n    body:\n" + _indent(branches, 6))
    assert _validates(tmp_path, spec) == []
    graph = archspec.expand(tmp_path / "example.yaml")
    assert graph.nodes[graph.graph["output"]]["shape"] == (35, 35, 96 + 64 + 64)

"""The benchmark generators make what the benchmarks say they measure (no timing here)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from archspec.api import expand, validate_file
from archspec.lang.compose import SpecCache
from archspec.lang.sources import bundled_dir
from tests.support.paths import ROOT


def _synthetic():
    spec = importlib.util.spec_from_file_location("benchmarks_synthetic", ROOT / "benchmarks" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_deep_resnet_has_the_layer_count_it_promises() -> None:
    source, overrides, limits, expected = _synthetic().deep_resnet(1_000)
    graph = expand(source, overrides, limits)
    assert graph.number_of_nodes() == expected
    assert abs(expected - 1_000) <= 10
    assert sum(1 for n in graph.nodes.values() if n["op"] == "add") == 3 + 4 + (expected - 177) // 10 + 6 + 3


def test_deep_resnet_beyond_the_default_limits_raises_them() -> None:
    _, overrides, limits, expected = _synthetic().deep_resnet(100_000)
    assert limits.layers > expected and limits.repeat >= overrides["stages.conv4.repeat"]


def test_spec_tree_files_are_all_valid_and_distinct(tmp_path: Path) -> None:
    count = len(list(bundled_dir().rglob("*.yaml"))) + 12  # the zoo, then a dozen generated variants
    files = _synthetic().write_spec_tree(tmp_path, count)
    assert len(files) == count
    cache = SpecCache()
    assert [validate_file(f, cache=cache) for f in files] == [[]] * len(files)
    names = [f.stem for f in files if re.search(r"_v\d{5}$", f.stem)]  # the generated variants
    assert len(names) == len(set(names)) > 0

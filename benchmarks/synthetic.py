"""Synthetic workloads: very deep ResNets (by raising a repeat count) and many spec files.

Kept separate from the timing code so ``tests/benchmarks`` can check, without timing anything, that
the generators produce what the benchmarks claim to measure.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from archspec.limits import Limits
from archspec.lang.sources import bundled_dir, bundled_names

# specs/resnet50.yaml: 177 graph nodes (input included) with conv4 repeated 6 times; each further
# identity bottleneck adds 10 layers (3 x conv/bn, 2 relu, add, out relu).
RESNET50_NODES = 177
RESNET50_CONV4 = 6
BLOCK_LAYERS = 10


def deep_resnet(layers: int) -> tuple[str, dict[str, int], Limits, int]:
    """``(source, overrides, limits, expected_nodes)`` for a ResNet-50 deepened to about ``layers``."""
    repeat = max(1, RESNET50_CONV4 + round((layers - RESNET50_NODES) / BLOCK_LAYERS))
    nodes = RESNET50_NODES + BLOCK_LAYERS * (repeat - RESNET50_CONV4)
    limits = Limits(layers=max(nodes + 1, Limits().layers), repeat=max(repeat, Limits().repeat),
                    params=max(2_000_000 * nodes, Limits().params))  # about 1.1 M weights per bottleneck
    return "resnet50", {"stages.conv4.repeat": repeat}, limits, nodes


def write_spec_tree(dest: Path, count: int) -> list[Path]:
    """At least ``count`` valid spec files under ``dest``: the zoo (with its libraries) plus renamed variants.

    Variants keep their ``imports``/``extends`` (so a run shares parsed bases through its cache, as a
    real repository of specs does) and change every stage ``repeat`` a little so no two expand alike,
    unless that makes the family invalid (layer names computed from offsets such as ``id: i + 3`` then
    collide): such a family's variants keep its repeat counts.
    """
    from archspec.graph.validate import validate_file

    src = bundled_dir()
    shutil.copytree(src, dest, dirs_exist_ok=True)
    files = sorted(dest.rglob("*.yaml"))
    names = bundled_names()
    bases = {n: yaml.safe_load((src / f"{n}.yaml").read_text(encoding="utf-8")) for n in names}
    valid: dict[tuple[str, int], bool] = {}  # (family, change of the repeat counts) -> still valid
    i = 0
    while len(files) < count:
        name = names[i % len(names)]
        data = _variant(bases[name], i % 3)
        data["name"] = f"{name}_v{i:05d}"
        path = dest / f"{data['name']}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        if (name, i % 3) not in valid:
            valid[name, i % 3] = not validate_file(path)
        if not valid[name, i % 3]:
            data = {**bases[name], "name": data["name"]}
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        files.append(path)
        i += 1
    return files


def _variant(data: dict[str, Any], more: int) -> dict[str, Any]:
    out = dict(data)
    stages = data.get("stages")
    if isinstance(stages, dict):
        out["stages"] = {k: ({**v, "repeat": v["repeat"] + more} if isinstance(v, dict) and
                             isinstance(v.get("repeat"), int) else v) for k, v in stages.items()}
    return out

"""``archspec graph|summary|diff|check-weights``: outputs, exit codes, and no TensorFlow on these paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np

from archspec.api import layer_graph
from archspec.weights.match import weighted_nodes
from tests.support.paths import ROOT


def manifest_h5(path: Path, spec: str) -> Path:
    """A legacy-layout weight file written from the graph's manifest with h5py alone (zeros)."""
    graph = layer_graph(spec)
    order = weighted_nodes(graph)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([graph.layers[n].name.encode() for n in order])
        for n in order:
            layer = graph.layers[n]
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = np.array([x.encode() for x in names])
            for name, w in zip(names, layer.weights):
                group.create_dataset(name, data=np.zeros(w.shape, "float32"))
    return path


def test_commands_never_import_tensorflow(tmp_path: Path) -> None:
    weights = manifest_h5(tmp_path / "w.h5", "resnet50")
    script = textwrap.dedent(f"""
        import sys
        from archspec.cli import main
        runs = [
            ["graph", "resnet50", "-o", {str(tmp_path / "g.dot")!r}],
            ["graph", "resnet50", "--format", "json", "-o", {str(tmp_path / "g.json")!r}],
            ["graph", "resnet50", "--format", "graphml", "-o", {str(tmp_path / "g.graphml")!r}],
            ["graph", "resnet50", "--level", "stage", "-o", {str(tmp_path / "g.svg")!r}],
            ["summary", "resnet50", "--format", "json"],
            ["diff", "resnet50", "resnet101"],
            ["check-weights", "resnet50", {str(weights)!r}],
        ]
        codes = [main(argv) for argv in runs]
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch"))
        print("CODES", codes, "HEAVY", heavy, file=sys.stderr)
        sys.exit(1 if any(codes) or heavy else 0)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HEAVY []" in proc.stderr
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")


def test_graph_formats(cli, tmp_path: Path) -> None:
    code, out, _ = cli("graph", "resnet50", "--level", "block", "--rankdir", "LR")
    assert code == 0 and out.startswith("digraph g_resnet50 {") and "rankdir=LR" in out and "b_conv4_block6" in out
    code, out, _ = cli("graph", "resnet50", "--format", "json", "--no-top", "--pooling", "max")
    data = json.loads(out)
    assert code == 0 and data["graph"]["output"] == "max_pool" and len(data["nodes"]) == 176
    code, out, _ = cli("graph", "resnet50", "--set", "stages.conv4.repeat=2", "--format", "graphml")
    assert code == 0 and out.count("<node ") == 177 - 40
    png = tmp_path / "r.png"
    code, _, err = cli("graph", "resnet50", "--level", "stage", "-o", str(png))
    assert code == 0 and png.read_bytes().startswith(b"\x89PNG") and "wrote" in err
    code, _, err = cli("graph", "resnet50", "--format", "png")
    assert code == 2 and "-o FILE.png" in err


def test_render_without_graphviz_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no 'dot' here
    proc = subprocess.run([sys.executable, "-m", "archspec", "graph", "resnet50", "--format", "svg"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 1
    assert "Graphviz" in proc.stderr and "apt-get install graphviz" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_summary_table_and_json(cli) -> None:
    code, out, _ = cli("summary", "resnet50")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "resnet50 (input 224x224x3)"
    total = next(line for line in lines if line.startswith("total")).split()
    assert total == ["total", "1000", "177", "107", "25,636,712", "3,857,973,248"]
    code, out, _ = cli("summary", "resnet50", "--format", "json", "--no-top")
    data = json.loads(out)
    assert {"params", "trainable_params", "macs", "layers", "weighted_layers", "stages"} <= set(data)
    assert data["params"] == 23_587_712 and data["stages"][-1]["stage"] == "conv5"


def test_diff_text_and_json(cli) -> None:
    code, out, _ = cli("diff", "resnet50", "resnet101", "--format", "json")
    data = json.loads(out)
    assert code == 0 and len(data["added"]) == 170 and data["removed"] == [] and data["changed"] == []
    code, out, _ = cli("diff", "resnet101", "resnet50")
    assert code == 0 and "removed: 170 layer(s)" in out and "- conv4_block23 (block, 10 layers" in out
    assert "by name 107 of 209 weighted layers load" in out


def test_errors_are_located_not_tracebacks(cli, tmp_path: Path) -> None:
    code, _, err = cli("summary", "resnet5O")
    assert code == 1 and "did you mean 'resnet50'" in err
    code, _, err = cli("check-weights", "resnet50", str(tmp_path / "nope.h5"))
    assert code == 1 and "weight file not found" in err
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    code, _, err = cli("check-weights", "resnet50", str(tmp_path / "junk.h5"))
    assert code == 1 and "cannot read HDF5" in err


def test_check_weights_manifest_file(cli, tmp_path: Path) -> None:
    path = manifest_h5(tmp_path / "w.h5", "resnet50")
    code, out, _ = cli("check-weights", "resnet50", str(path))
    assert code == 0 and "by order: 107 matched, 0 missing, 0 extra, 0 shape mismatch(es)" in out
    assert out.rstrip().endswith("OK: the file loads fully by order")
    code, out, _ = cli("check-weights", "resnet101", str(path), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["loads"] is None and [r["mode"] for r in data["reports"]] == ["order", "name"]
    missing = data["reports"][1]["missing"]
    assert len(missing) == 102 and missing[0]["layer"] == "conv4_block7_1_conv"
    assert re.fullmatch(r".*resnet\.yaml:\d+:\d+", missing[0]["loc"])

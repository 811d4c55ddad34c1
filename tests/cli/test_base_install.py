"""Every command but ``build`` works on a base install (``pip install .``: pyyaml, jsonschema, networkx).

The test suite's environment has every extra installed, so the commands run in a fresh process where importing
any package outside the base dependencies fails, as it would on a base install (.ci/run also runs them in a
venv holding exactly the base package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.paths import ROOT

#: what the extras and the test extra bring; none of it may be needed without `build`
NOT_INSTALLED = ("pydot", "h5py", "numpy", "keras", "tensorflow", "tf_keras", "jax", "torch", "torchvision")


def test_every_export_command_runs_without_the_extras(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = textwrap.dedent(f"""
        import sys, time
        BLOCKED = {NOT_INSTALLED!r}

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NotInstalled())
        from archspec.cli import main
        out = {str(out)!r}
        runs = [
            ["graph", "resnet50"],
            ["graph", "resnet50", "--level", "block", "-o", out + "/g.gv"],
            ["graph", "resnet50", "--format", "json", "-o", out + "/g.json"],
            ["graph", "resnet50", "--format", "graphml", "-o", out + "/g.graphml"],
            ["summary", "resnet50", "--format", "json"],
            ["diff", "resnet50", "resnet101"],
            ["validate", "-q", {str(ROOT / "specs" / "mobilenet.yaml")!r}],
            ["list", "--format", "json"],
            ["schema", "-o", out + "/schema.json"],
        ]
        codes = []
        for argv in runs:
            start = time.process_time()
            codes.append(main(argv))
            print(argv[0], round(time.process_time() - start, 2), file=sys.stderr)
        print("CODES", codes, file=sys.stderr)
        """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CODES [0, 0, 0, 0, 0, 0, 0, 0, 0]" in proc.stderr, proc.stderr[-3000:]
    dot = proc.stdout[proc.stdout.index("digraph g_resnet50 {"):]
    assert "n_conv5_block3_out" in dot and "\n}\n" in dot
    assert "subgraph cluster_s_conv2 {" in (out / "g.gv").read_text()
    assert {n["id"] for n in json.loads((out / "g.json").read_text())["nodes"]} >= {"conv1_conv", "predictions"}
    assert "<graphml" in (out / "g.graphml").read_text()
    assert json.loads((out / "schema.json").read_text())["title"]

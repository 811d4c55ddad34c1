"""Op plug-ins: the example plug-in's op validates, builds, draws and is in the schema only when loaded; a
record missing a part is refused at load; a spec can never make archspec import anything."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from archspec.ops import OPS
from archspec.ops import plugins
from tests.support.paths import ROOT

PLUGIN = ROOT / "examples" / "plugins" / "channel_prelu.py"
NET = ROOT / "examples" / "plugins" / "prelu_net.yaml"


def archspec(*args: str, cwd: Path | None = None, pythonpath: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (pythonpath, str(ROOT)) if p)}
    return subprocess.run([sys.executable, "-m", "archspec", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=300)


@pytest.fixture
def registry():
    """The op registry as it was, after the test (plug-ins loaded in this process are forgotten)."""
    before, loaded_before = dict(OPS), dict(plugins.LOADED)
    yield
    OPS.clear()
    OPS.update(before)
    plugins.LOADED.clear()
    plugins.LOADED.update(loaded_before)


@pytest.fixture
def loaded(registry):
    """The example plug-in loaded in this process."""
    plugins.load_plugins([str(PLUGIN)], entry_points=False)


def test_without_the_plugin_the_op_is_unknown_and_says_a_plugin_may_be_missing():
    proc = archspec("validate", str(NET))
    assert proc.returncode == 1
    assert "prelu_net.yaml:7:" in proc.stdout and "unknown op 'channel_prelu'" in proc.stdout
    assert "is a plug-in missing? load it with --plugin MODULE" in proc.stdout
    assert archspec("validate", "--plugin", str(PLUGIN), str(NET)).returncode == 0


def test_the_schema_has_the_op_only_with_the_plugin():
    plain = json.loads(archspec("schema").stdout)
    extended = json.loads(archspec("schema", "--plugin", str(PLUGIN)).stdout)
    ops = extended["$defs"]["step"]["properties"]["op"]["enum"]
    assert "channel_prelu" in ops and "channel_prelu" not in plain["$defs"]["step"]["properties"]["op"]["enum"]
    assert sorted(ops) == ops and "channel_prelu" not in json.dumps(plain)


def test_shapes_params_macs_picture_and_docs_table(loaded):
    from archspec.api import layer_graph
    from archspec.export.dot import to_dot
    from archspec.ops.table import markdown

    graph = layer_graph(NET)
    prelu = next(layer for layer in graph if layer.op == "channel_prelu")
    assert prelu.shape == (30, 30, 16) and prelu.params == 16
    # conv 3x3x3 -> 16 on 30x30 = 388,800; PReLU 30*30*16 = 14,400; dense 16 -> 10 = 160
    assert sum(layer.macs for layer in graph) == 388_800 + 14_400 + 160
    assert 'fillcolor="#fde0dd"' in to_dot(graph).to_string() and "| `channel_prelu` | PReLU |" in markdown()


def test_the_keras_model_is_the_hand_written_one(registry, monkeypatch):
    import keras

    from tests.test_doc_examples import doc_block

    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(doc_block("docs/plugins.md", "archspec.load_plugins("), namespace)
    model = namespace["model"]
    x = keras.Input((32, 32, 3))
    y = keras.layers.Conv2D(16, 3)(x)
    y = keras.layers.PReLU(shared_axes=[1, 2])(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    reference = keras.Model(x, keras.layers.Dense(10, activation="softmax")(y))
    assert model.count_params() == reference.count_params() == 16 * 27 + 16 + 16 + 170
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in reference.weights]
    reference.set_weights(weights)
    model.set_weights(weights)
    assert model.get_layer("stem_prelu").__class__.__name__ == "PReLU"
    probe = rng.standard_normal((2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model(probe), reference(probe), rtol=1e-5, atol=1e-6)


RECORD = """
from archspec.ops import Attr, OpDef
from archspec.ops.base import same_shape
OPS = [OpDef(name={name!r}, keras_class="Identity", doc={doc!r}, example="{{op: {name}}}", attrs={{}},
             shape=same_shape, keras=lambda K, a, n: K.Identity(name=n))]
"""


@pytest.mark.parametrize("text,message", [
    (RECORD.format(name="twin", doc=""), "op 'twin' is missing doc"),
    (RECORD.format(name="conv2d", doc="x"), "op 'conv2d' is already defined (by archspec)"),
    (RECORD.format(name="Bad-Name", doc="x"), "must be lower_snake_case"),
    (RECORD.format(name="twin", doc="x").replace("shape=same_shape, ", ""),
     "cannot import it: TypeError: OpDef.__init__() missing 1 required positional argument: 'shape'"),
    (RECORD.format(name="twin", doc="x").replace("OPS = [", "OPS = [object(), "), "is not an archspec.ops.OpDef"),
    ("X = 1\n", "it has no OPS list of OpDef records"),
], ids=["no-doc", "clash", "name", "no-shape", "not-a-record", "no-OPS"])
def test_a_record_missing_a_part_is_refused_at_load(tmp_path, text, message):
    (tmp_path / "bad_ops.py").write_text(text)
    proc = archspec("validate", "--plugin", str(tmp_path / "bad_ops.py"), str(NET))
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_spec_naming_a_module_imports_nothing(tmp_path):
    """Every way a spec could name Python: none is imported (the module would leave a marker file)."""
    marker = tmp_path / "imported"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\nOPS = []\n")
    (tmp_path / "spec.yaml").write_text(textwrap.dedent("""\
        archspec: 1
        name: evil
        input: [8, 8, 3]
        stages:
          s: {body: [{op: evil}, {op: evil.evil}, {op: "evil:OPS"}]}
        """))
    check = ("import sys; from archspec.cli import main; rc = main(['validate', 'spec.yaml']); "
             "assert 'evil' not in sys.modules; raise SystemExit(rc)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(tmp_path), str(ROOT)))}  # evil is importable
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "unknown op 'evil'" in proc.stdout and "is a plug-in missing?" in proc.stdout
    assert not marker.exists()
    proc = archspec("validate", "--plugin", "evil", "spec.yaml", cwd=tmp_path, pythonpath=str(tmp_path))
    assert marker.exists()  # the same module does load when the user names it


def test_an_entry_point_loads_without_the_option(tmp_path):
    (tmp_path / "prelu_ops.py").write_text(PLUGIN.read_text())
    dist = tmp_path / "prelu_ops-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: prelu-ops\nVersion: 1.0\n")
    import tomllib

    from tests.test_doc_examples import doc_block

    declared = tomllib.loads(doc_block("docs/plugins.md", '"archspec.ops"'))["project"]["entry-points"]
    (dist / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
        for group, entries in declared.items()))
    proc = archspec("validate", str(NET), pythonpath=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_documented_commands(tmp_path):
    from tests.test_doc_examples import doc_block

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    outputs = []
    for line in doc_block("docs/plugins.md", "archspec validate --plugin").splitlines():
        argv = shlex.split(line)
        command = [sys.executable, "-m", "archspec", *argv[1:]] if argv[0] == "archspec" else [sys.executable,
                                                                                                *argv[1:]]
        assert argv[0] in ("archspec", "python"), line
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, f"{line}: {proc.stderr}"
        outputs.append(proc.stdout)
    assert "prelu_net.yaml: ok" in outputs[0] and "stem   30x30x16" in outputs[1]
    assert "channel_prelu" in (tmp_path / "prelu_net.dot").read_text()
    schema = json.loads((tmp_path / "examples" / "plugins" / "prelu.schema.json").read_text())
    assert "channel_prelu" in schema["$defs"]["step"]["properties"]["op"]["enum"]
    assert "| `channel_prelu` | PReLU | 1 | `init` = 0.25 |" in outputs[4]

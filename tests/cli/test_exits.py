"""A user's mistake is a located error and exit 1, a usage error exit 2, never exit 3 (issue 21's cases)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.files import write
from tests.support.paths import ROOT


NET = """\
    archspec: 1
    name: t
    input: [8, 8, 3]
    stages:
      s:
        body:
          - {op: conv2d, filters: 4, kernel_size: 1}
    """


@pytest.mark.parametrize("command", ["validate", "summary", "graph", "build"])
def test_extending_a_library_is_a_located_error(tmp_path, cli, command):
    write(tmp_path / "lib.yaml", """\
        archspec: 1
        kind: library
        templates:
          conv: {body: [{op: conv2d, filters: 4, kernel_size: 1}]}
        """)
    spec = write(tmp_path / "net.yaml", "archspec: 1\nextends: lib.yaml\nname: t\n")
    code, out, err = cli(command, str(spec))
    assert code == 1, out + err
    assert (f"{spec}:2:10: error: 'extends' names a template library (kind: library), not a network: lib.yaml"
            in out + err)


def _archspec(*args: str, **env: str) -> subprocess.CompletedProcess:
    """A fresh process: Keras reads its configuration once, when first imported."""
    environ = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "archspec", *args], capture_output=True, text=True,
                          env={**environ, **env}, timeout=300)


def test_an_unknown_keras_backend_variable_is_a_usage_error(tmp_path):
    proc = _archspec("build", "mobilenet", KERAS_BACKEND="tensorfow", KERAS_HOME=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "archspec: error: KERAS_BACKEND=tensorfow is not a Keras backend" in proc.stderr
    assert "internal error" not in proc.stderr


@pytest.mark.parametrize("config, message", [
    ('["tensorflow"]', "the Keras configuration file is not a JSON object (it holds a list)"),
    ('{"backend": "tensorfow"}', "sets backend to 'tensorfow', which Keras refuses"),
    ('{"image_data_format": "channels_middle"}', "sets image_data_format to 'channels_middle', which Keras refuses"),
    ('{"epsilon": 1}', "sets epsilon to 1, which Keras refuses"),
])
def test_a_keras_json_that_keras_refuses_is_an_error_at_the_file(tmp_path, config, message):
    (tmp_path / "keras.json").write_text(config)
    proc = _archspec("build", "mobilenet", KERAS_HOME=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"{tmp_path / 'keras.json'}: error: ") and message in proc.stderr


@pytest.mark.parametrize("args", [["summary", "NET", "--input-shape", "99999999999999999999,8,3"],
                                  ["validate", "BIG"], ["summary", "BIG"]])
def test_input_sizes_are_bounded(tmp_path, cli, args):
    net = write(tmp_path / "net.yaml", NET)
    big = write(tmp_path / "big.yaml", NET.replace("[8, 8, 3]", "[99999999999999999999, 8, 3]"))
    code, out, err = cli(*[{"NET": str(net), "BIG": str(big)}.get(a, a) for a in args])
    assert code == 1, out + err
    assert ":3:9: error: input size 99999999999999999999 is too large (more than 63 bits; limit 'int_bits') [/input/0]" \
        in out + err


@pytest.mark.parametrize("args", [["build", "NET", "-o", "DIR/m.keras"], ["graph", "NET", "-o", "DIR/g.dot"],
                                  ["convert", "NET", "CKPT", "-o", "DIR/w.h5"], ["schema", "-o", "DIR/s.json"]])
@pytest.mark.parametrize("folder", ["/proc", "MISSING"])
def test_an_output_folder_that_cannot_be_written_is_refused_first(tmp_path, cli, args, folder):
    """/proc refuses new files even to root, for whom a permission check says yes."""
    net = write(tmp_path / "net.yaml", NET)
    folder = str(tmp_path / "missing") if folder == "MISSING" else folder
    names = {"NET": str(net), "CKPT": str(tmp_path / "w.pth")}
    code, out, err = cli(*[names.get(a, a.replace("DIR", folder)) for a in args])
    assert code == 2, out + err
    assert err.startswith(f"archspec: error: cannot write output {folder}/") and (
        "is not writable" in err or "does not exist" in err)
    assert out == ""  # nothing was built first

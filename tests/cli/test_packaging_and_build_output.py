"""Issue 15: the distribution name, the pinned lowest dependencies (tested by .ci/run), and TensorFlow's
start-up lines kept out of `archspec build` unless --verbose."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

from archspec.cli.quiet import is_noise, quiet_tensorflow
from tests.support.paths import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _lowest(name: str) -> tuple[int, ...]:
    [dep] = [d for d in PROJECT["dependencies"] if re.match(rf"{name}\b", d, re.I)]
    return tuple(int(x) for x in dep.split(">=")[1].split(".")[:2])


def test_distribution_name_is_not_the_other_archspec():
    assert PROJECT["name"] == "archspec-cnn"
    readme = (ROOT / "README.md").read_text()
    assert "pip install 'archspec-cnn[tensorflow]'" in readme and "python -m venv" in readme
    assert "cannot share an environment" in readme
    commands = [line for block in re.findall(r"```sh\n(.*?)```", readme, re.S) for line in block.splitlines()]
    assert not [c for c in commands if re.search(r"pip install (-U )?'?archspec(?!-cnn)\b", c)]


def test_pins_cover_what_the_code_uses():
    if "node_link_data(" in (ROOT / "archspec" / "export" / "nodes.py").read_text():
        assert _lowest("networkx") >= (3, 4)  # node_link_data(edges=...) appeared in networkx 3.4
    assert _lowest("jsonschema") >= (4, 18) and _lowest("pyyaml") >= (6, 0)


def test_ci_tests_the_lowest_pins_without_tensorflow():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "venv-lowest" in ci and '">="' not in ci and "==" in ci and '-k "not build"' in ci


def test_noise_filter():
    assert is_noise("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    assert is_noise("I0000 00:00:1795471797.363899   16913 cudart_stub.cc:31] Could not find cuda drivers on "
                    "your machine, GPU will not be used.\n")
    assert is_noise("E0000 00:00:1763.1  77 cuda_dnn.cc:8310] Unable to register cuDNN factory\n")
    assert not is_noise("UserWarning: something a user should see\n")
    assert not is_noise("resnet50.yaml:3:1: error: no\n")


def test_quiet_block_holds_back_only_the_noise(capfd):
    with quiet_tensorflow():
        os.write(2, b"I0000 00:00:1795471797.363899   16913 cudart_stub.cc:31] Could not find cuda drivers\n")
        os.write(2, b"a real warning\n")
    err = capfd.readouterr().err
    assert err == "a real warning\n"
    with quiet_tensorflow(verbose=True):
        os.write(2, b"W0000 00:00:1.1  1 x.cc:1] shown with --verbose\n")
    assert "shown with --verbose" in capfd.readouterr().err


def test_build_prints_no_tensorflow_start_up_lines(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "archspec", "build", "resnet18", "--no-top", "--input-shape",
                           "32,32,3"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("resnet18: ")
    assert proc.stderr == "", proc.stderr

"""Progress on a terminal: `build` shows its phases when stderr is a terminal (building and loading weights
counted by layer), `-q` silences them, and the summary line names the spec (its file), not Keras's model name."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from tests.lang.corpus import VALID
from tests.support.paths import ROOT

TINY = VALID / "tiny_resnet.yaml"


def on_terminal(*args: str) -> tuple[int, str, str]:
    """Run archspec with stderr on a pseudo-terminal; returns the exit code, stdout and what the terminal got."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "archspec", *args], stdout=subprocess.PIPE, stderr=slave,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    out = proc.stdout.read().decode()
    return proc.wait(timeout=600), out, terminal.decode(errors="replace")


def test_build_shows_its_phases_on_a_terminal_and_q_silences_them(tmp_path):
    code, out, terminal = on_terminal("build", str(TINY), "-o", str(tmp_path / "m.keras"))
    assert code == 0, terminal
    assert "tiny_resnet: importing Keras, expanding, loading weights" in terminal and "saving" in terminal
    assert "\x1b[" in terminal  # drawn (and erased) with terminal escapes
    assert out.startswith("tiny_resnet: ") and "wrote" in out
    code, out, terminal = on_terminal("build", str(TINY), "-q")
    assert code == 0 and out.startswith("tiny_resnet: ") and "importing Keras" not in terminal


def test_loading_weights_is_counted_by_layer(tmp_path):
    code, out, terminal = on_terminal("build", str(TINY), "-o", str(tmp_path / "m.h5"))
    assert code == 0, terminal
    code, out, terminal = on_terminal("build", str(TINY), "--weights", str(tmp_path / "m.h5"))
    assert code == 0, terminal
    weighted = re.search(r"(\d+) with weights", out).group(1)  # the summary line's count
    assert f"loading weights into {weighted} layers" in terminal

"""Helpers for the hostile-input tests: run the CLI in a child process with a time limit (a regression
then fails instead of hanging the suite) and measure its CPU time and peak memory.

The bounds the tests assert are on CPU time (user + system, from ``wait4``), not wall time: they say how
much work a hostile file can cause, which does not change when other processes share the cores."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GITHUB_ACTIONS": ""}
ENV.pop("ARCHSPEC_DEBUG", None)

TINY = textwrap.dedent("""\
    archspec: 1
    name: tiny
    input: [32, 32, 3]
    stages:
      s1:
        body:
          - {op: conv2d, filters: 8, kernel_size: 3}
    """)


@dataclass
class Run:
    rc: int
    out: str
    err: str
    cpu_seconds: float  # user + system time of the child
    max_rss_mb: float  # peak resident memory of the child, in MB


def archspec(*args: str, timeout: float = 60, cwd: Path | None = None, preexec=None, env: dict | None = None) -> Run:
    """``python -m archspec ARGS`` with its exit code, output, CPU time and peak memory (``wait4``);
    ``env`` adds to the environment (``KERAS_HOME``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "archspec", *map(str, args)], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env={**ENV, **(env or {})}, cwd=cwd, preexec_fn=preexec)
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                proc.wait()
                raise AssertionError(f"archspec {' '.join(map(str, args))[:200]} still running after {timeout} s")
            time.sleep(0.005)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode("utf8", "replace"), err.read().decode("utf8", "replace"),
                   usage.ru_utime + usage.ru_stime, peak_kb / 1024)


def _hwm_kb(pid: int) -> int:
    """The child's own peak resident memory so far (VmHWM). ``wait4``'s ru_maxrss is not used: Linux
    carries the parent's peak across fork and exec, so after a test that loaded TensorFlow into pytest
    every child would seem to use 600 MB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except (OSError, ValueError):
        return 0


def assert_located(text: str, path: Path, line: int | None = None) -> None:
    """``text`` has an ``error:`` line located in ``path`` (at ``line`` when given)."""
    prefix = f"{path}:{line}:" if line is not None else f"{path}:"
    errors = [ln for ln in text.splitlines() if ln.startswith(prefix) and ": error: " in ln]
    assert errors, f"no error located at {prefix}; got:\n{text}"

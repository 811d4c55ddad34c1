"""Test-wide setup: quiet TensorFlow logs; one compute thread per test process under README's ``-n 2``; the
shared fixtures of tests/support; spec fixtures are written per test into tmp_path."""

import os

from tests.support.cli import cli  # noqa: F401  (a fixture for every test module)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # README's command runs one test process per core: a second intra-op thread in each (PyTorch's OpenMP
    # threads spin while they wait) only competes with the other process. Read when torch/TensorFlow start.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

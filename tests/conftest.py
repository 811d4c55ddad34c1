"""Test-wide setup: quiet TensorFlow logs; the shared fixtures of tests/support; spec fixtures are written per
test into tmp_path."""

import os

from tests.support.cli import cli  # noqa: F401  (a fixture for every test module)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

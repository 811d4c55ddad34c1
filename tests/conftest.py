"""Test-wide setup: quiet TensorFlow logs; spec fixtures are written per test into tmp_path."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

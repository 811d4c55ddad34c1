"""The emitted model trains data-parallel on two CPU devices: ``tf.distribute.MirroredStrategy`` (two logical
devices) and ``keras.distribution.DataParallel`` on JAX (two host devices). One process per backend
(distributed_step.py): the device split must be set before the backend starts.

One training step of ResNet-18 at 32x32 runs with the batch split over the replicas; every trainable weight
must change and its copies on the two devices must be equal afterwards (they see different halves of the
batch, so only combined gradients keep them equal).

TensorFlow: Keras 3 creates BatchNormalization's moving mean and variance with ``aggregation="none"``
(keras/src/layers/normalization/batch_normalization.py, ``add_weight`` without ``aggregation``), so under
MirroredStrategy each replica keeps the statistics of its own half batch and reads give the first replica's
(keras.applications models behave the same; ``synchronized=True`` is Keras's opt-in). The test allows exactly
those to differ. On JAX one SPMD program computes them over the whole batch, so everything is equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("distributed_step.py")
ENV = {
    "tensorflow": {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"},
    # XLA's code generation at -O0, as in test_cross_backend.py's JAX worker: 16 -> 10 s CPU, same arithmetic
    "jax": {"KERAS_BACKEND": "jax",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0"},
}
PER_REPLICA = {"tensorflow": ("moving_mean", "moving_variance"), "jax": ()}


@pytest.mark.parametrize("backend", sorted(ENV))
def test_one_data_parallel_step_keeps_the_replicas_in_sync(backend):
    proc = subprocess.run([sys.executable, str(SCRIPT), backend], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **ENV[backend]})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2 and report["devices_per_variable"] == [2]
    assert sorted(report["changed"]) == sorted(report["trainable"])  # the step trained every weight
    unexpected = [p for p in report["out_of_sync"] if not p.endswith(PER_REPLICA[backend])]
    assert unexpected == []
    if backend == "tensorflow":  # the per-replica statistics are there (else the split did not happen)
        assert report["out_of_sync"]

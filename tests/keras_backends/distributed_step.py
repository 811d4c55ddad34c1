"""One data-parallel training step of an archspec model on two CPU devices; prints a JSON report.

``python distributed_step.py tensorflow``: ``tf.distribute.MirroredStrategy`` over two logical CPU devices
(they must be configured before TensorFlow initialises, hence a process of its own).
``python distributed_step.py jax``: ``keras.distribution.DataParallel`` over two host devices (the caller
sets ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` before JAX starts).

The batch is split across the replicas, so each computes different gradients; the weights stay in sync only
if they are combined. The report lists, per variable, how many device copies there are and whether they are
equal, and whether the step changed it.
"""

from __future__ import annotations

import json
import sys

import numpy as np

SPEC, SHAPE, CLASSES, BATCH = "resnet18", (32, 32, 3), 10, 8


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((BATCH, *SHAPE)).astype("float32"),
            rng.integers(0, CLASSES, BATCH).astype("int32"))


def _model():
    import keras

    import archspec

    model = archspec.build(SPEC, input_shape=SHAPE, classes=CLASSES, classifier_activation=None)
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _report(model, before: dict, copies) -> dict:
    variables = {v.path: copies(v) for v in model.variables}
    return {
        "devices_per_variable": sorted({len(c) for c in variables.values()}),
        "out_of_sync": [path for path, c in variables.items() if any(not np.array_equal(c[0], o) for o in c[1:])],
        "changed": [v.path for v in model.trainable_variables if not np.array_equal(before[v.path], copies(v)[0])],
        "trainable": [v.path for v in model.trainable_variables],
    }


def tensorflow() -> dict:
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = _model()

    def copies(v):  # the per-device values of a mirrored variable
        return [np.asarray(value) for value in v.value.values]

    before = {v.path: copies(v)[0] for v in model.trainable_variables}
    x, y = _data()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # one step, half the batch on each replica
    return {"replicas": strategy.num_replicas_in_sync, **_report(model, before, copies)}


def jax() -> dict:
    import jax
    import keras

    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    model = _model()

    def copies(v):  # the device shards of a replicated jax.Array
        return [np.asarray(shard.data) for shard in v.value.addressable_shards]

    before = {v.path: copies(v)[0] for v in model.trainable_variables}
    x, y = _data()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # one step, the batch sharded over the devices
    return {"replicas": len(jax.devices()), **_report(model, before, copies)}


if __name__ == "__main__":
    print(json.dumps({"tensorflow": tensorflow, "jax": jax}[sys.argv[1]]()))

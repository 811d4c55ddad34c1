"""One process per Keras backend for tests/keras_backends/test_cross_backend.py: all of that backend's work in one go.

Keras fixes its backend when it is first imported, so each backend needs its own process; starting one per
model would pay the import (and JAX's compilation caches) again for every model. Run as
``python worker.py JOB.json``; the job names everything (see the test module) and the results go to files:
features and outputs as ``.npy``, everything else in one JSON report.

Order: the README's commands first (``archspec build ... --backend NAME`` must choose the backend before Keras
is imported, so they run before this process imports Keras), then every bundled spec built without weights
(the representatives below excepted), then the representative models built with the reference weight file
(features saved, a ``.keras`` file saved where the job asks), and last the other backends' ``.keras`` files
loaded. The test process writes the weight files and inputs while the workers build, and the workers write
``.keras`` files the others load, so a worker waits for each file it reads (``publish`` writes them whole).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path


def _run_commands(commands: list[list[str]]) -> list[dict]:
    from archspec.cli import main

    out = []
    for argv in commands:
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            code = main(argv)
        out.append({"argv": argv, "code": code, "stdout": text.getvalue()})
    return out


def _description(model) -> dict:
    return {"layers": [layer.name for layer in model.layers], "params": int(model.count_params()),
            "output_shapes": [list(t.shape) for t in model.outputs]}


def flat(outputs) -> "np.ndarray":
    """A model's outputs as one (batch, n) array: a dict of named outputs (decoders, detection heads) in
    sorted key order, which is the order Keras flattens them in."""
    import numpy as np

    parts = [outputs[k] for k in sorted(outputs)] if isinstance(outputs, dict) else [outputs]
    return np.concatenate([np.asarray(p).reshape(len(p), -1) for p in parts], axis=1)


def _features(model, x_path: str, out_path: str) -> None:
    import numpy as np

    np.save(out_path, flat(model.predict_on_batch(np.load(x_path))))


def publish(path: Path, write: Callable[[Path], object]) -> None:
    """``write(partial)`` then rename it to ``path``: a process waiting for ``path`` never reads half a file
    (``partial`` keeps the suffix, which Keras's savers check)."""
    partial = path.with_name(f"partial.{path.name}")
    write(partial)
    partial.replace(path)


def _wait_for(path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} was not written within {timeout:.0f} s")
        time.sleep(0.2)


def _equivalence(cases: list[dict], builds: dict, timeout: float) -> None:
    import keras

    import archspec

    for case in cases:
        _wait_for(case["x"], timeout)  # written after the weight file
        keras.backend.clear_session()
        model = archspec.build(case["spec"], include_top=case["include_top"], input_shape=tuple(case["input_shape"]),
                               weights=case["weights"])
        builds[case["spec"]] = _description(model)
        _features(model, case["x"], case["out"])
        if case.get("save"):
            publish(Path(case["save"]), model.save)


def _build_all(cases: list[dict], builds: dict, skip: set[str]) -> None:
    """Every spec but ``skip`` (built with weights next) without weights: ``StatelessScope(initialize_variables=
    False)`` creates each variable with its shape and initializer but does not run the initializer (JAX compiles
    one random-number program per weight shape, a minute for the zoo)."""
    import keras

    import archspec

    for case in cases:
        if case["spec"] in skip:
            continue
        keras.backend.clear_session()
        try:
            with keras.StatelessScope(initialize_variables=False):
                model = archspec.build(case["spec"], include_top=case["include_top"],
                                       input_shape=tuple(case["input_shape"]))
            builds[case["spec"]] = _description(model)
        except Exception:  # reported per spec, so one broken spec does not hide the others
            builds[case["spec"]] = {"error": traceback.format_exc(limit=4)}


def _load_others(cases: list[dict], timeout: float) -> None:
    import keras

    for case in cases:
        _wait_for(case["path"], timeout)
        keras.backend.clear_session()
        _features(keras.saving.load_model(case["path"]), case["x"], case["out"])


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(job_path: str) -> int:
    gc.disable()  # 7 % of build time went to collecting Keras's many small objects; clear_session collects per model
    job = json.loads(Path(job_path).read_text())
    report: dict = {"commands": _run_commands(job.get("commands", [])), "cpu_seconds": {"commands": _cpu()}}
    import keras

    report["backend"] = keras.backend.backend()
    report["builds"] = {}
    equivalence, timeout = job.get("equivalence", []), job.get("timeout", 600)
    for phase, run in [("build_all", lambda: _build_all(job.get("build_all", []), report["builds"],
                                                        {case["spec"] for case in equivalence})),
                       ("equivalence", lambda: _equivalence(equivalence, report["builds"], timeout)),
                       ("load", lambda: _load_others(job.get("load", []), timeout))]:
        start = _cpu()
        run()
        report["cpu_seconds"][phase] = _cpu() - start
    Path(job["report"]).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

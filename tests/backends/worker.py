"""One process per Keras backend for tests/backends/test_cross_backend.py: all of that backend's work in one go.

Keras fixes its backend when it is first imported, so each backend needs its own process; starting one per
model would pay the import (and JAX's compilation caches) again for every model. Run as
``python worker.py JOB.json``; the job names everything (see the test module) and the results go to files:
features and outputs as ``.npy``, everything else in one JSON report.

Order: the README's commands first (``archspec build ... --backend NAME`` must choose the backend before Keras
is imported, so they run before this process imports Keras), then the representative models built with the
reference weight file (features saved, a ``.keras`` file saved where the job asks), then every bundled spec
built without weights, and last the other backends' ``.keras`` files loaded (waiting for them: the other
workers run at the same time).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
import traceback
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
            "output_shape": list(model.output.shape)}


def _features(model, x_path: str, out_path: str) -> None:
    import numpy as np

    np.save(out_path, np.asarray(model.predict_on_batch(np.load(x_path))))


def _equivalence(cases: list[dict], builds: dict) -> None:
    import keras

    import archspec

    for case in cases:
        keras.backend.clear_session()
        model = archspec.build(case["spec"], include_top=False, input_shape=tuple(case["input_shape"]),
                               weights=case["weights"])
        builds[case["spec"]] = _description(model)
        _features(model, case["x"], case["out"])
        if case.get("save"):
            partial = case["save"] + ".partial.keras"  # the other workers wait for the final name
            model.save(partial)
            Path(partial).replace(case["save"])


def _build_all(cases: list[dict], builds: dict) -> None:
    """Every spec without weights: ``StatelessScope(initialize_variables=False)`` creates each variable with its
    shape and initializer but does not run the initializer (JAX compiles one random-number program per weight
    shape, a minute for the zoo; the representatives above run the full path with values)."""
    import keras

    import archspec

    for case in cases:
        if case["spec"] in builds:
            continue
        keras.backend.clear_session()
        try:
            with keras.StatelessScope(initialize_variables=False):
                model = archspec.build(case["spec"], include_top=False, input_shape=tuple(case["input_shape"]))
            builds[case["spec"]] = _description(model)
        except Exception:  # reported per spec, so one broken spec does not hide the others
            builds[case["spec"]] = {"error": traceback.format_exc(limit=4)}


def _load_others(cases: list[dict], timeout: float) -> None:
    import keras

    for case in cases:
        deadline = time.monotonic() + timeout
        while not Path(case["path"]).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{case['path']} was not written within {timeout:.0f} s")
            time.sleep(0.2)
        keras.backend.clear_session()
        _features(keras.saving.load_model(case["path"]), case["x"], case["out"])


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    report: dict = {"commands": _run_commands(job.get("commands", [])), "cpu_seconds": {"commands": _cpu()}}
    import keras

    report["backend"] = keras.backend.backend()
    report["builds"] = {}
    for phase, run in [("equivalence", lambda: _equivalence(job.get("equivalence", []), report["builds"])),
                       ("build_all", lambda: _build_all(job.get("build_all", []), report["builds"])),
                       ("load", lambda: _load_others(job.get("load", []), job.get("timeout", 600)))]:
        start = _cpu()
        run()
        report["cpu_seconds"][phase] = _cpu() - start
    Path(job["report"]).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

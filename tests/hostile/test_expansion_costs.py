"""Specs inside every documented limit that used to run for minutes, and specs that validated but could
not build: each is now a located error or a result within seconds (generated at test time)."""

from __future__ import annotations

from tests.hostile.util import archspec, assert_located
from tests.support.files import write

HEAD = "archspec: 1\nname: n\ninput: [8, 8, 3]\n"


def test_ten_thousand_at_keys_on_ten_thousand_repeats(tmp_path):
    """The 'at' overrides were scanned once per repeat: 10^8 checks."""
    at = ", ".join(f"{i}: {{k: 1}}" for i in range(1, 10_001))
    spec = write(tmp_path / "at.yaml", HEAD + "templates:\n  t:\n    params: {k: 0}\n    body: [{op: batch_norm}]\n"
                 f"stages:\n  s: {{block: t, repeat: 10000, at: {{{at}}}}}\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 0, run.out
    assert run.cpu_seconds < 15, run.cpu_seconds


def test_thirty_thousand_parameters_repeated(tmp_path):
    """Binding parameters counts as expansion work, and a default no longer copies the scope per parameter."""
    params = ", ".join(f"p{i}: {i}" for i in range(30_000))
    spec = write(tmp_path / "p.yaml", HEAD + f"templates:\n  t:\n    params: {{{params}}}\n    body: [{{op: batch_norm}}]\n"
                 "stages:\n  s: {block: t, repeat: 10000}\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1 and "limit 'steps'" in run.out
    assert_located(run.out, spec, 9)
    assert run.cpu_seconds < 15, run.cpu_seconds


def test_thirty_thousand_vars_and_many_steps(tmp_path):
    """Every step copied every var into its scope; scopes now chain to the vars."""
    vars_ = ", ".join(f"v{i}: {i}" for i in range(30_000))
    steps = "".join("      - {op: batch_norm}\n" for _ in range(2_000))
    spec = write(tmp_path / "v.yaml", HEAD + f"vars: {{{vars_}}}\nstages:\n  s:\n    repeat: 20\n    body:\n{steps}")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 0, run.out
    assert run.cpu_seconds < 20, run.cpu_seconds


def test_thousands_of_unknown_names_against_thousands_of_vars(tmp_path):
    """One did-you-mean search per error over every var: now the first 200 get a hint."""
    vars_ = ", ".join(f"v{i}: {i}" for i in range(20_000))
    steps = "".join(f"      - {{op: dropout, rate: unknown{i}}}\n" for i in range(3_000))
    spec = write(tmp_path / "u.yaml", HEAD + f"vars: {{{vars_}}}\nstages:\n  s:\n    body:\n{steps}")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1 and run.out.count("unknown name 'unknown") == 3_000
    assert_located(run.out, spec, 8)
    assert run.cpu_seconds < 20, run.cpu_seconds


def test_a_trillion_parameters_is_refused_before_building(tmp_path):
    spec = write(tmp_path / "big.yaml", HEAD + "stages:\n  s:\n    body:\n"
                 "      - {op: conv2d, filters: 1000000, kernel_size: 3}\n"
                 "      - {op: conv2d, filters: 1000000, kernel_size: 3}\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1 and "limit 'params'" in run.out
    assert_located(run.out, spec, 8)
    raised = archspec("validate", "--limit", "params=100000000000000", spec, timeout=60)
    assert raised.rc == 0, raised.out  # configurable


def test_an_open_channel_count_is_a_located_error(tmp_path):
    spec = write(tmp_path / "open.yaml", "archspec: 1\nname: n\ninput: [null, null, null]\nstages:\n  s:\n"
                 "    body:\n      - {op: conv2d, filters: 4, kernel_size: 1}\n")
    for command in ("validate", "summary"):
        run = archspec(command, spec, timeout=60)
        assert run.rc == 1, (command, run.out, run.err)
        assert "channel count cannot be open" in run.out + run.err


def test_a_4200_layer_chain_builds_and_runs(tmp_path):
    """Keras maps a functional model recursively; the build gives it room instead of a RecursionError."""
    import sys

    import keras  # noqa: F401  (importing TensorFlow sets its own recursion limit; the build must keep it)
    import numpy as np

    import archspec

    spec = write(tmp_path / "chain.yaml", "archspec: 1\nname: chain\ninput: [2, 2, 1]\ntemplates:\n  t:\n"
                 "    body: [{op: activation, activation: relu}]\nstages:\n  s: {block: t, repeat: 4200}\n")
    limit = sys.getrecursionlimit()
    model = archspec.build(spec)
    assert sys.getrecursionlimit() == limit, "the caller's recursion limit is put back"
    assert len(model.layers) == 4201
    x = np.array([[[[-1.0], [2.0]], [[3.0], [-4.0]]]], dtype="float32")
    assert np.array_equal(np.asarray(model(x)), np.maximum(x, 0))


def test_a_five_gigabyte_model_is_refused_by_default(tmp_path):
    """750 M float32 weights (3 GB) once passed validation and then exhausted memory in the build; the default
    bound is 1,000 M (above the largest bundled spec, regnet_y_128gf's 645 M), so 1,250 M (5 GB) is refused."""
    spec = write(tmp_path / "wide.yaml", "archspec: 1\nname: n\ninput: [1, 1, 25000]\nstages:\n  s:\n    body:\n"
                 "      - {op: global_avg_pool}\n      - {op: dense, units: 50000}\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1 and "more than 1,000,000,000 parameters" in run.out
    assert_located(run.out, spec, 8)

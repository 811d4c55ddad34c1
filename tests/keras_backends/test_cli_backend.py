"""``archspec build --backend NAME``: its mistakes. A working ``--backend`` is run by the README's command in
test_cross_backend.py (in a process that starts with another KERAS_BACKEND)."""

from __future__ import annotations

import sys


def test_an_unknown_backend_is_a_usage_error(cli):
    code, _, err = cli("build", "resnet50", "--backend", "theano")
    assert code == 2
    assert "invalid choice: 'theano'" in err and "tensorflow" in err and "jax" in err and "torch" in err


def test_a_backend_that_is_not_installed_names_the_extra(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # importlib.util.find_spec then reports it absent
    code, _, err = cli("build", "resnet50", "--backend", "jax")
    assert code == 1
    assert "the jax package is not installed" in err and "pip install 'archspec-cnn[jax]'" in err


def test_a_process_that_already_imported_keras_cannot_switch(cli):
    import keras

    other = "jax" if keras.backend.backend() != "jax" else "torch"
    code, _, err = cli("build", "resnet50", "--backend", other)
    assert code == 2
    assert f"already imported in this process with the {keras.backend.backend()} backend" in err

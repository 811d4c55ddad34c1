"""``archspec build --backend NAME``: its mistakes. A working ``--backend`` is run by the README's command in
test_cross_backend.py (in a process that starts with another KERAS_BACKEND)."""

from __future__ import annotations

import sys

import pytest

from archspec.cli import main


def test_an_unknown_backend_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build", "resnet50", "--backend", "theano"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'theano'" in err and "tensorflow" in err and "jax" in err and "torch" in err


def test_a_backend_that_is_not_installed_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # importlib.util.find_spec then reports it absent
    with pytest.raises(SystemExit) as exc:
        main(["build", "resnet50", "--backend", "jax"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "the jax package is not installed" in err and "pip install 'archspec-cnn[jax]'" in err


def test_a_process_that_already_imported_keras_cannot_switch(capsys):
    import keras

    other = "jax" if keras.backend.backend() != "jax" else "torch"
    with pytest.raises(SystemExit) as exc:
        main(["build", "resnet50", "--backend", other])
    assert exc.value.code == 2
    assert f"already imported in this process with the {keras.backend.backend()} backend" in capsys.readouterr().err

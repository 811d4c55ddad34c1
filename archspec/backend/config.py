"""What Keras reads from the environment when it is first imported, checked beforehand (pure Python).

Keras raises a bare ``ValueError`` (or an ``AttributeError``) from its import for an unknown
``KERAS_BACKEND`` and for a ``keras.json`` whose values it refuses; archspec names the variable or the
file instead, before anything imports Keras.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from archspec.errors import Diagnostic, Location, SpecError

#: The backends Keras 3 knows (archspec builds on tensorflow, jax and torch; ``build --backend`` offers those).
KERAS_BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")
_CHOICES = {"floatx": ("float16", "float32", "float64"), "image_data_format": ("channels_last", "channels_first"),
            "backend": KERAS_BACKENDS}


def keras_json() -> Path:
    """The configuration file Keras reads: ``$KERAS_HOME/keras.json``, else ``~/.keras/keras.json`` (``/tmp/.keras``
    when the home folder is not writable), as ``keras.src.backend.config`` finds it."""
    if "KERAS_HOME" in os.environ:
        return Path(os.path.expanduser(os.environ["KERAS_HOME"])) / "keras.json"
    home = os.path.expanduser("~")
    return Path(home if os.access(home, os.W_OK) else "/tmp") / ".keras" / "keras.json"


def backend_variable_problem() -> str | None:
    """Why ``KERAS_BACKEND`` would stop Keras's import (an unknown name), or ``None``."""
    name = os.environ.get("KERAS_BACKEND")
    if name and name not in KERAS_BACKENDS:
        return f"KERAS_BACKEND={name[:80]} is not a Keras backend (one of: {', '.join(KERAS_BACKENDS)})"
    return None


def check_keras_config() -> None:
    """Refuse, as a :class:`SpecError` naming the variable or the file, what would make ``import keras`` fail.

    A ``keras.json`` that is not JSON is ignored by Keras, and so here; one that is JSON but not an object,
    or holds a value Keras refuses, is an error at the file."""
    problem = backend_variable_problem()
    if problem:
        raise SpecError(Diagnostic(problem, hint="unset it or name one of the backends archspec supports: "
                                   "tensorflow, jax, torch"))
    path = keras_json()
    try:
        data = json.loads(path.read_bytes()) if path.is_file() else {}
    except (OSError, ValueError):
        return
    where = Location(str(path))
    if not isinstance(data, dict):
        raise SpecError(Diagnostic(f"the Keras configuration file is not a JSON object (it holds a "
                                   f"{type(data).__name__})", where, hint="fix or remove it (Keras writes a default one where it is missing)"))
    for key, choices in _CHOICES.items():
        if key == "backend" and os.environ.get("KERAS_BACKEND"):
            continue  # the variable wins
        if key in data and data[key] not in choices:
            raise SpecError(Diagnostic(f"the Keras configuration file sets {key} to {repr(data[key])[:80]}, "
                                       f"which Keras refuses (one of: {', '.join(choices)})", where))
    if "epsilon" in data and not isinstance(data["epsilon"], float):
        raise SpecError(Diagnostic(f"the Keras configuration file sets epsilon to "
                                   f"{repr(data['epsilon'])[:80]}, which Keras refuses (a float, e.g. 1e-07)",
                                   where))

"""archspec: convolutional networks as data -- YAML spec -> checked layer graph -> Keras model.

``load_spec``, ``validate`` and ``expand`` are pure Python; ``build`` imports TensorFlow/Keras lazily.
"""

import importlib
import importlib.util
from typing import Any

from archspec.errors import Diagnostic, SpecError
from archspec.limits import Limits

# imported on first use (PEP 562), so `archspec --version`, `archspec schema` and the like do not pay
# for networkx, jsonschema and PyYAML
_LAZY = {"build": "archspec.api", "expand": "archspec.api", "load_spec": "archspec.api", "validate": "archspec.api",
         "BuildOptions": "archspec.graph.builder", "preprocess": "archspec.preprocessing",
         "decode_predictions": "archspec.backend.imagenet", "load_plugins": "archspec.ops.plugins"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"archspec.{name}") is not None:
        value = importlib.import_module(f"archspec.{name}")  # `archspec.api` worked after a plain import
    else:
        raise AttributeError(f"module 'archspec' has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "BuildOptions", "Diagnostic", "Limits", "SpecError", "build", "decode_predictions", "expand", "load_plugins",
    "load_spec", "preprocess", "validate",
]
__version__ = "0.1.0"

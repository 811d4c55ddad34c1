"""Register archspec's custom Keras layers whenever Keras gets imported, without importing it ourselves.

``import archspec`` must stay free of TensorFlow (validation runs in CI on every commit), yet a
``.keras`` file that contains a :class:`~archspec.backend.layers.ScaledAdd` must load with
``keras.models.load_model`` after a plain ``import archspec``. So if Keras is already imported we
register at once; otherwise a one-shot import hook registers right after Keras finishes importing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Any


def _register() -> None:
    import archspec.backend.layers  # noqa: F401  (the decorator registers the classes)


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            _register()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def install() -> None:
    if "keras" in sys.modules:
        _register()
    elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())

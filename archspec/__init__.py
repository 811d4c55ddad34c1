"""archspec: convolutional networks as data -- YAML spec -> checked layer graph -> Keras model.

``load_spec``, ``validate`` and ``expand`` are pure Python; ``build`` imports TensorFlow/Keras lazily.
"""

from archspec import _keras_hook
from archspec.api import build, expand, load_spec, validate
from archspec.errors import Diagnostic, SpecError
from archspec.graph.builder import BuildOptions
from archspec.limits import Limits
from archspec.preprocessing import preprocess

__all__ = [
    "BuildOptions", "Diagnostic", "Limits", "SpecError", "build", "expand", "load_spec", "preprocess", "validate",
]
__version__ = "0.1.0"

_keras_hook.install()

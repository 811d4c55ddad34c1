"""Input preprocessing each spec declares, matching Keras ``preprocess_input`` modes, in NumPy only."""

from __future__ import annotations

from typing import Any

from archspec.errors import Diagnostic, SpecError

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch", "none")


def preprocess(spec: Any, images: Any) -> Any:
    """Preprocess RGB images in [0, 255] (channels last) the way the spec's weights expect.

    ``spec`` is a path, bundled name or loaded spec; its ``preprocessing`` key picks the mode:
    ``caffe`` (RGB->BGR, ImageNet mean subtracted), ``tf`` (scaled to [-1, 1]), ``torch`` (scaled to
    [0, 1] then normalised by ImageNet mean/std) or ``none``.
    """
    import numpy as np

    from archspec.api import load_spec

    loaded = load_spec(spec)
    mode = loaded.data.get("preprocessing", "none")
    x = np.array(images, dtype="float32", copy=True)
    if x.shape[-1] != 3 and mode != "none":
        raise SpecError(Diagnostic(f"preprocessing '{mode}' needs 3-channel RGB images, got shape {x.shape}",
                                   loaded.where(("preprocessing",))))
    if mode == "caffe":
        return x[..., ::-1] - np.array(_CAFFE_MEAN_BGR, dtype="float32")
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - np.array(_TORCH_MEAN, dtype="float32")) / np.array(_TORCH_STD, dtype="float32")
    return x

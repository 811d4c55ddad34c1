"""Input preprocessing each spec declares, matching Keras ``preprocess_input`` modes (NumPy for arrays;
tensors go through Keras)."""

from __future__ import annotations

from typing import Any

from archspec.errors import Diagnostic, SpecError

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch", "unit", "none")


def preprocess(spec: Any, images: Any, data_format: str | None = None) -> Any:
    """Preprocess RGB images in [0, 255] the way the spec's weights expect (keras's ``preprocess_input``).

    ``spec`` is a path, bundled name or loaded spec; its ``preprocessing`` key picks the mode:
    ``caffe`` (RGB->BGR, ImageNet mean subtracted), ``tf`` (scaled to [-1, 1]), ``torch`` (scaled to
    [0, 1] then normalised by ImageNet mean/std), ``unit`` (scaled to [0, 1], as Ultralytics' YOLO takes
    images; not a keras mode) or ``none``. ``data_format`` is ``"channels_last"``
    (the default) or ``"channels_first"``. NumPy arrays and lists are computed in NumPy (a new array; the
    input is not changed); a tensor (a Keras symbolic tensor inside a model, a ``tf.data`` map's tensor) goes
    through keras's own ``preprocess_input``, so the step can live inside a model.
    """
    from archspec.api import load_spec

    loaded = load_spec(spec)
    mode = loaded.data.get("preprocessing", "none")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"Expected data_format to be one of `channels_first` or `channels_last`. "
                         f"Received: data_format={data_format}")
    axis = 1 if data_format == "channels_first" else -1
    if not _is_array(images):
        if mode == "none":
            return images
        if mode == "unit":
            return images / 255.0
        from keras.applications import imagenet_utils

        return imagenet_utils.preprocess_input(images, data_format=data_format or "channels_last", mode=mode)
    import numpy as np

    x = np.array(images, dtype="float32", copy=True)
    if x.ndim < 3 or (x.shape[axis] != 3 and mode != "none"):
        raise SpecError(Diagnostic(f"preprocessing '{mode}' needs 3-channel RGB images "
                                   f"({data_format or 'channels_last'}), got shape {x.shape}",
                                   loaded.where(("preprocessing",))))
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "caffe":
        return np.flip(x, axis=axis) - np.array(_CAFFE_MEAN_BGR, dtype="float32").reshape(shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "unit":
        return x / 255.0
    if mode == "torch":
        return ((x / 255.0 - np.array(_TORCH_MEAN, dtype="float32").reshape(shape))
                / np.array(_TORCH_STD, dtype="float32").reshape(shape))
    return x


def _is_array(images: Any) -> bool:
    """NumPy data (arrays, lists, scalars) rather than a framework tensor."""
    import numpy as np

    return isinstance(images, (np.ndarray, list, tuple, int, float, np.generic))

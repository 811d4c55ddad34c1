"""ImageNet class names for predictions: ``archspec.decode_predictions``, as keras.applications has it.

The class index is fetched through ``keras.utils.get_file`` with the file name, URL, cache folder and hash
keras.applications uses, so both share one cached copy (``$KERAS_HOME/models/imagenet_class_index.json``):
a copy keras already fetched is used offline.
"""

from __future__ import annotations

import json
from typing import Any

CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"


def class_index() -> dict[str, list[str]]:
    import keras

    path = keras.utils.get_file(CLASS_INDEX_FILE, CLASS_INDEX_URL, cache_subdir="models", file_hash=CLASS_INDEX_HASH)
    with open(path) as f:
        return json.load(f)


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """For each row of ``preds`` (batch, 1000), the ``top`` classes as ``(wnid, name, score)``, best first."""
    import numpy as np

    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
                         f"(samples, 1000)). Received array with shape: {preds.shape}")
    index = class_index()
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        results.append(sorted((tuple(index[str(i)]) + (pred[i],) for i in best), key=lambda r: r[2], reverse=True))
    return results

"""A Keras cache seeded for offline tests: ``keras.utils.get_file`` finds the file and never fetches."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest


def seed_class_index(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the Keras cache at ``cache`` with a synthetic ImageNet class index (``n0000000i``, ``class_i``).

    KERAS_HOME is read when Keras is imported, so the cache folder is patched where Keras keeps it; the
    synthetic file's hash replaces the published one and the URL is one that would fail if fetched.
    """
    from archspec.backend import imagenet

    models = cache / "models"
    models.mkdir(parents=True, exist_ok=True)
    index = models / "imagenet_class_index.json"
    index.write_text(json.dumps({str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}))
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(cache))
    monkeypatch.setattr(imagenet, "CLASS_INDEX_HASH", hashlib.md5(index.read_bytes()).hexdigest())
    monkeypatch.setattr(imagenet, "CLASS_INDEX_URL", "http://127.0.0.1:9/never-fetched.json")

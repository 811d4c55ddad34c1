"""Deployment artefacts of a built model: ONNX, TFLite and SavedModel, each checked against Keras.

Which exporter works depends on the Keras backend (measured with Keras 3.15): on TensorFlow, Keras's own
``export`` writes all three (ONNX through tf2onnx); on PyTorch it writes ONNX through ``torch.onnx``
(TorchScript tracing); on JAX it needs jax2onnx (flax, orbax, huggingface_hub), which archspec neither
installs nor tests, so JAX is refused with that reason. :data:`ROUTES` says which route is taken.

``verify`` runs the written artefact the way a deployment would (onnxruntime, the TFLite interpreter,
the SavedModel's serving signature) on a seeded probe and returns the maximum relative error against
the Keras model (max |artefact - keras| / max |keras|); :data:`TOLERANCE` is where ``--verify`` fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

FORMATS = ("onnx", "tflite", "saved_model")
SUFFIXES = {"onnx": (".onnx",), "tflite": (".tflite",), "saved_model": None}  # a SavedModel is a folder
TOLERANCE = 1e-4  # the float32 agreement the test suite holds every backend to
PROBE_SEED = 0

# (backend, format) -> (the route, the Python modules it needs, the extra that installs them)
ROUTES = {
    ("tensorflow", "onnx"): ("Keras export(format='onnx') through tf2onnx", ("onnx", "tf2onnx"), "onnx"),
    ("torch", "onnx"): ("Keras export(format='onnx') through torch.onnx", ("onnx",), "onnx"),
    ("tensorflow", "tflite"): ("Keras export(format='litert'), the TFLite converter", (), "tensorflow"),
    ("tensorflow", "saved_model"): ("Keras export(format='tf_saved_model')", (), "tensorflow"),
}
REFUSED = {
    "jax": "Keras exports ONNX from JAX through jax2onnx, which archspec does not install or test (it brings flax, "
           "orbax and huggingface_hub), and its LiteRT and SavedModel routes need TensorFlow",
    "torch": "on the PyTorch backend Keras writes only ONNX here (LiteRT needs litert-torch, SavedModel needs "
             "TensorFlow)",
}
RUNTIMES = {"onnx": (("onnxruntime",), "onnx"), "tflite": ((), "tensorflow"), "saved_model": ((), "tensorflow")}


class ExportRefused(Exception):
    """This format cannot be written or checked here (backend, missing package); the message says what to do."""


def route(backend: str, fmt: str, verify: bool) -> str:
    """The route for ``fmt`` on ``backend``, after checking its packages are importable (before any work)."""
    import importlib.util

    if (backend, fmt) not in ROUTES:
        raise ExportRefused(f"cannot export {fmt} on the {backend} Keras backend: {REFUSED.get(backend, '')}; "
                            f"use --backend tensorflow (the model is the same on every backend)")
    text, needs, extra = ROUTES[backend, fmt]
    runtime, runtime_extra = RUNTIMES[fmt] if verify else ((), extra)
    for module, where in [*((m, extra) for m in needs), *((m, runtime_extra) for m in runtime)]:
        if importlib.util.find_spec(module) is None:
            raise ExportRefused(f"{fmt} export{' with --verify' if module in runtime else ''} needs the "
                                f"{module} package: pip install 'archspec-cnn[{where}]'")
    return text


def metadata(spec: Any, input_shape: tuple, classes: int | None) -> dict[str, str]:
    """What a deployment needs to know that the tensors do not say: the spec, its preprocessing, the classes."""
    found = {"archspec.spec": spec.name, "archspec.preprocessing": str(spec.data.get("preprocessing", "none")),
             "archspec.input_shape": json.dumps(list(input_shape))}
    if classes is not None:
        found["archspec.classes"] = str(classes)
    return found


def export(model: Any, fmt: str, out: Path, meta: dict[str, str]) -> None:
    """Write ``model`` as ``fmt`` to ``out`` atomically (a temporary file or folder beside it, then renamed)."""
    with _quiet():
        if fmt == "saved_model":
            with _replacing_folder(out) as tmp:
                model.export(str(tmp), format="tf_saved_model", verbose=False)
                (tmp / "assets.extra").mkdir(exist_ok=True)  # where TF Serving keeps files beside the model
                (tmp / "assets.extra" / "archspec.json").write_text(json.dumps(meta, indent=1))
            return
        from archspec.fileio import replacing

        with replacing(out) as tmp:
            model.export(str(tmp), format="onnx" if fmt == "onnx" else "litert", verbose=False)
            (_onnx_metadata if fmt == "onnx" else _tflite_metadata)(tmp, meta)


def probe(model: Any, batch: int = 2) -> tuple[Any, Any]:
    """A seeded input for ``model`` (open sizes become 64; standard normal, so every unit is exercised) and
    the model's output for it."""
    import numpy as np
    from keras import ops

    shape = [batch, *(d or 64 for d in tuple(model.inputs[0].shape)[1:])]
    x = np.random.default_rng(PROBE_SEED).standard_normal(shape).astype("float32")
    return x, ops.convert_to_numpy(model(x, training=False))


def verify(fmt: str, out: Path, x: Any, expected: Any) -> float:
    """Max relative error of the artefact at ``out`` on input ``x`` against the Keras model's ``expected``."""
    import numpy as np

    with _quiet():
        got = {"onnx": _run_onnx, "tflite": _run_tflite, "saved_model": _run_saved_model}[fmt](out, x)
    return float(np.max(np.abs(got - expected)) / max(float(np.max(np.abs(expected))), 1e-30))


def size(out: Path) -> int:
    """Bytes on disk of a file or a folder."""
    if out.is_dir():
        return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return out.stat().st_size


# ------------------------------------------------------------------------------------------- formats

def _onnx_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, **meta})
    onnx.save(proto, str(path))


def _tflite_metadata(path: Path, meta: dict[str, str]) -> None:
    """One ``archspec`` entry in the flatbuffer's ``metadata`` list (a JSON buffer), as TFLite metadata is kept."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(meta).encode())
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = "archspec", len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    flatbuffer_utils.write_model(model, str(path))


def _run_onnx(path: Path, x: Any) -> Any:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _run_tflite(path: Path, x: Any) -> Any:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def _run_saved_model(path: Path, x: Any) -> Any:
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    (name,) = serve.structured_input_signature[1]
    (out,) = serve(**{name: tf.constant(x)}).values()
    return out.numpy()


@contextlib.contextmanager
def _replacing_folder(out: Path) -> Iterator[Path]:
    """A new folder beside ``out`` to write into; on success it takes ``out``'s place (an old SavedModel
    there is removed after the swap), on failure it is removed and ``out`` is as it was."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.parent / f"{tmp.name}.old"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' own chatter (deprecations, tracer warnings) is theirs, not the user's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield

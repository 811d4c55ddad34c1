"""Test support for reference-equivalence checks.

archspec must build Keras models whose layer order (for by-order loading)
and layer names (for by-name loading) match the models the published
keras.applications ImageNet ``.h5`` files were saved from.  Downloading
those files in tests is not an option, so the helpers here fabricate
files in the same legacy layout from randomly initialised reference models
and compare forward passes:

    ref = keras.applications.ResNet50(weights=None)
    randomize_weights(ref, seed=0)
    write_legacy_h5(ref, tmp_path / "ref.h5")
    ours = compile_spec(...)
    load_by_order(ours, tmp_path / "ref.h5")
    assert_same_outputs(ours, ref, seed=1)

Facts about Keras 3.15 legacy ``.h5`` loading that these helpers rely on
(see ``keras/src/legacy/saving/legacy_h5_format.py``):

* By order: only model layers with at least one weight
  (``trainable_weights + non_trainable_weights``) and file layers with a
  non-empty ``weight_names`` attribute take part; they are paired
  positionally and names are ignored.  Different counts raise
  ``ValueError("Layer count mismatch ...")``; a different number of
  weights in a paired layer raises ``ValueError("Weight count mismatch
  ...")``; a shape difference raises ``ValueError("Shape mismatch ...")``
  unless ``skip_mismatch=True`` (then that single weight is skipped with a
  warning).
* By name: for every file layer, every model layer with that name gets
  the weights; model layers missing from the file keep their values and
  file layers missing from the model are ignored, both silently.  Weight
  count or shape mismatches raise, or warn and skip with
  ``skip_mismatch=True``.
* Within a layer, loading is positional over
  ``layer.trainable_weights + layer.non_trainable_weights``; the weight
  names stored in the file are only used to find the datasets.
* ``model.layers`` (hence by-order pairing) is ordered by graph depth
  from the inputs, ties broken by the order of a merge layer's inputs, not
  by creation order; Keras 2 did the same when the published files were
  written.
* The path must end in ``.h5``/``.hdf5`` but not ``.weights.h5``, which
  Keras 3 routes to its new format (and ``by_name`` is rejected there).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import h5py
import keras
import numpy as np

__all__ = [
    "RELATIVE_TOLERANCE",
    "assert_same_outputs",
    "final_softmax_as_linear",
    "legacy_resnet50",
    "legacy_submodules",
    "load_by_name",
    "load_by_order",
    "max_rel_error",
    "randomize_weights",
    "write_legacy_h5",
]

#: Default tolerance of :func:`assert_same_outputs` (see :func:`max_rel_error`).
RELATIVE_TOLERANCE = 1e-5

# h5py cannot store an attribute larger than the HDF5 object header; longer
# lists are split into ``<name>0``, ``<name>1``, ... which Keras also reads.
_ATTRIBUTE_LIMIT_BYTES = 64512

_TINY = float(np.finfo(np.float32).tiny)

# assert_same_outputs: reference samples must differ by this many tolerances.
_SENSITIVITY_FACTOR = 100.0


# --------------------------------------------------------------------------
# Random weights
# --------------------------------------------------------------------------


def _to_numpy(x: Any) -> np.ndarray:
    """Variable, backend tensor or array as numpy, without Keras' copy warnings."""
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _legacy_weights(layer: keras.layers.Layer) -> list[keras.Variable]:
    """Weights of one layer in the order legacy ``.h5`` files store them.

    Keras saves and loads ``trainable_weights + non_trainable_weights``, so
    BatchNormalization comes out as gamma, beta, moving_mean,
    moving_variance.
    """
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _ordered_variables(model: keras.Model) -> list[keras.Variable]:
    """All variables of ``model`` in layer order, each once (shared layers)."""
    seen: set[int] = set()
    variables = []
    for layer in model.layers:
        for variable in _legacy_weights(layer):
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


def _fan_in(shape: tuple[int, ...], depthwise: bool) -> int:
    """Inputs feeding one output unit of a kernel (channels-last layouts)."""
    if depthwise:  # (kh, kw, in, multiplier): each output sees kh * kw inputs
        return max(1, math.prod(shape[:-2]))
    return max(1, math.prod(shape[:-1]))


def _random_value(
    name: str, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """A sane random value for a variable, chosen by its role.

    The role comes from the variable's own short name (``kernel``,
    ``gamma``, ``moving_variance`` ...), never from its layer's name.
    Kernels are variance preserving (normal * sqrt(1 / fan_in)) so that
    outputs of 150+ layer networks stay finite and informative; scales and
    variances stay in [0.5, 1.5] so BatchNormalization never divides by
    something close to zero; offsets are small but non-zero so that a
    misplaced bias still changes the output.
    """
    lowered = name.lower()
    if "variance" in lowered or lowered in {"gamma", "scale"}:
        return rng.uniform(0.5, 1.5, size=shape)
    if "kernel" in lowered or (len(shape) >= 2 and "embedding" not in lowered):
        fan_in = _fan_in(shape, depthwise="depthwise" in lowered)
        return rng.standard_normal(shape) * math.sqrt(1.0 / fan_in)
    # bias, beta, moving_mean, embeddings and anything else.
    return rng.standard_normal(shape) * 0.1


def randomize_weights(model: keras.Model, seed: int) -> None:
    """Give every floating-point weight of ``model`` a seeded random value.

    Why: reference-equivalence tests need weights that are deterministic,
    distinct per position and numerically tame; Keras initialisers give
    zero biases / unit BN statistics, which would hide misplaced weights.

    Determinism: variables are visited in ``model.layers`` order and, within
    a layer, in legacy order (trainable then non-trainable).  The k-th
    variable is drawn from ``numpy.random.default_rng([seed, k])``.  Layer
    names play no part, so two models whose weighted layers come in the same
    order with the same variable shapes and roles receive identical weights
    for the same seed even if every layer is named differently; inserting or
    removing weightless layers changes nothing either (as in by-order
    loading).  Non-float variables (e.g. counters) are left untouched.
    """
    for index, variable in enumerate(_ordered_variables(model)):
        dtype = keras.backend.standardize_dtype(variable.dtype)
        if not dtype.startswith(("float", "bfloat")):
            continue
        rng = np.random.default_rng([seed, index])
        shape = tuple(int(d) for d in variable.shape)
        value = _random_value(variable.name, shape, rng)
        variable.assign(value.astype(dtype))


# --------------------------------------------------------------------------
# Legacy HDF5 weights files
# --------------------------------------------------------------------------


def _check_legacy_path(path: str | os.PathLike[str]) -> str:
    """Reject suffixes Keras 3 would not route to the legacy h5 reader."""
    text = os.fspath(path)
    if text.endswith(".weights.h5") or not text.endswith((".h5", ".hdf5")):
        raise ValueError(
            "Legacy Keras weight files must end in '.h5' or '.hdf5' but not "
            f"'.weights.h5' (Keras 3 reads that as its new format): {text!r}"
        )
    return text


def _write_string_list(
    node: h5py.Group, name: str, values: Sequence[bytes]
) -> None:
    """Store a list of byte strings as an attribute, chunked like Keras.

    Keras reads ``name`` or, failing that, ``name0``, ``name1``, ...
    """
    array = np.array(list(values), dtype=bytes)
    if not len(values):
        node.attrs[name] = array.astype("S1")
        return
    chunks = max(1, math.ceil(array.nbytes / _ATTRIBUTE_LIMIT_BYTES))
    while any(c.nbytes > _ATTRIBUTE_LIMIT_BYTES for c in np.array_split(array, chunks)):
        chunks += 1
    if chunks == 1:
        node.attrs[name] = array
    else:
        for i, chunk in enumerate(np.array_split(array, chunks)):
            node.attrs[f"{name}{i}"] = chunk


def _weight_names(layer: keras.layers.Layer) -> list[str]:
    """File names for a layer's weights, e.g. ``conv1_conv/kernel:0``.

    This is the TF1-era ``variable.name`` convention of the published
    files; Keras 3 only uses it to locate datasets, so duplicates (possible
    for nested models) just get a numeric suffix.
    """
    names: list[str] = []
    for variable in _legacy_weights(layer):
        base = f"{layer.name}/{variable.name}"
        candidate, n = f"{base}:0", 1
        while candidate in names:
            candidate, n = f"{base}_{n}:0", n + 1
        names.append(candidate)
    return names


def write_legacy_h5(model: keras.Model, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s weights in the legacy Keras HDF5 weights layout.

    Why: this is the layout of the published keras.applications ImageNet
    files, so a file written here exercises exactly the loading path real
    weights will take.  Layout:

    * root attributes ``layer_names`` (every layer of ``model.layers`` in
      order, weightless ones included), ``backend``, ``keras_version``;
    * one group per layer with attribute ``weight_names``
      (``<layer>/<var>:0`` in trainable-then-non-trainable order, so BN is
      gamma, beta, moving_mean, moving_variance) and a dataset at each of
      those paths relative to the group (so ``conv1/conv1/kernel:0``).

    No ``top_level_model_weights`` group is written, as in published files.
    """
    text = _check_legacy_path(path)
    with h5py.File(text, "w") as f:
        _write_string_list(
            f, "layer_names", [layer.name.encode("utf8") for layer in model.layers]
        )
        # Fixed-length byte strings, as h5py 2 wrote them for Keras 2.
        f.attrs["backend"] = np.bytes_(keras.backend.backend().encode("utf8"))
        f.attrs["keras_version"] = np.bytes_(str(keras.__version__).encode("utf8"))
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = _weight_names(layer)
            _write_string_list(group, "weight_names", [n.encode("utf8") for n in names])
            for name, variable in zip(names, _legacy_weights(layer)):
                value = _to_numpy(variable)
                group.create_dataset(name, data=value)


def load_by_order(
    model: keras.Model, path: str | os.PathLike[str], skip_mismatch: bool = False
) -> None:
    """Load a legacy ``.h5`` file positionally (names are ignored).

    Why: ``keras.applications`` loads its ImageNet files this way, so this is
    the check that archspec's weighted-layer order matches the reference.
    ``skip_mismatch`` skips single weights of the wrong shape (with a
    warning); layer-count and weight-count mismatches still raise.
    """
    model.load_weights(_check_legacy_path(path), skip_mismatch=skip_mismatch)


def load_by_name(
    model: keras.Model, path: str | os.PathLike[str], skip_mismatch: bool = False
) -> None:
    """Load a legacy ``.h5`` file by layer name.

    Why: checks that archspec's layer names match the reference.  Caution:
    Keras silently skips model layers absent from the file (and file layers
    absent from the model), so a successful load does not prove every layer
    matched; compare outputs, or compare names separately.  With
    ``skip_mismatch`` layers with a different weight count and weights with
    a different shape are skipped with a warning instead of raising.
    """
    model.load_weights(
        _check_legacy_path(path), skip_mismatch=skip_mismatch, by_name=True
    )


# --------------------------------------------------------------------------
# Output comparison
# --------------------------------------------------------------------------


def _as_array_list(x: Any) -> list[np.ndarray]:
    """Model outputs (array, tensor, list or dict) as a list of float64 arrays."""
    if isinstance(x, dict):
        x = [x[k] for k in sorted(x)]
    if not isinstance(x, (list, tuple)):
        x = [x]
    return [np.asarray(_to_numpy(v), dtype=np.float64) for v in x]


def max_rel_error(a: Any, b: Any) -> float:
    """Worst relative error of ``a`` against the reference ``b``.

    For each array pair this is ``max|a - b| / max(max|b|, tiny)``: the
    largest element-wise difference relative to the largest reference
    magnitude (infinity-norm relative error); the result is the maximum
    over pairs.  Why this and not element-wise ``|a-b|/|b|``: near-zero
    reference elements (small softmax probabilities, ReLU zeros) make the
    element-wise ratio explode on float32 round-off, while this measure is
    still sensitive to a single wrong element.  Returns ``inf`` if either
    side has a non-finite value; raises ``ValueError`` on shape mismatch.
    """
    a_list, b_list = _as_array_list(a), _as_array_list(b)
    if len(a_list) != len(b_list):
        raise ValueError(f"{len(a_list)} arrays vs {len(b_list)} reference arrays")
    worst = 0.0
    for x, y in zip(a_list, b_list):
        if x.shape != y.shape:
            raise ValueError(f"shape mismatch: {x.shape} vs reference {y.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            return math.inf
        if x.size == 0:
            continue
        scale = max(float(np.max(np.abs(y))), _TINY)
        worst = max(worst, float(np.max(np.abs(x - y))) / scale)
    return worst


def _random_inputs(
    shapes: Any, seed: int, batch: int
) -> np.ndarray | list[np.ndarray]:
    """Seeded standard-normal float32 inputs for one or several input shapes."""
    rng = np.random.default_rng(seed)
    single = isinstance(shapes, tuple)
    result = []
    for shape in [shapes] if single else list(shapes):
        dims = tuple(shape)[1:]
        if any(d is None for d in dims):
            raise ValueError(
                f"input shape {tuple(shape)} has unknown dimensions; "
                "pass input_shape= explicitly"
            )
        result.append(rng.standard_normal((batch, *dims)).astype(np.float32))
    return result[0] if single else result


def assert_same_outputs(
    model_a: keras.Model,
    model_b: keras.Model,
    seed: int,
    batch: int = 2,
    *,
    tol: float = RELATIVE_TOLERANCE,
    input_shape: Any = None,
    require_sensitivity: bool = True,
) -> float:
    """Assert both models map the same seeded input to the same output.

    Why: equal outputs on random input with random weights is the strongest
    cheap evidence that two graphs are the same function.  The input is
    standard normal with shape ``model_a.input_shape`` (or ``input_shape``,
    batch dimension included, when that has ``None`` entries).  Both models
    run in inference mode; ``model_b`` is the reference in
    :func:`max_rel_error`.  Unless ``require_sensitivity`` is false, the
    reference outputs for the first two samples must differ by at least
    100 * ``tol``, so that a saturated output cannot pass vacuously.
    Returns the error for logging.
    """
    shapes = input_shape if input_shape is not None else model_a.input_shape
    x = _random_inputs(shapes, seed, batch)
    out_a = model_a(x, training=False)
    out_b = model_b(x, training=False)
    b_arrays = _as_array_list(out_b)
    assert all(np.all(np.isfinite(v)) for v in b_arrays), "reference output not finite"
    if require_sensitivity and batch >= 2:
        spread = max_rel_error([v[0] for v in b_arrays], [v[1] for v in b_arrays])
        assert spread >= _SENSITIVITY_FACTOR * tol, (
            f"vacuous comparison: the reference gives (nearly) the same output "
            f"for different inputs (relative spread {spread:.3g}); a saturated "
            "softmax would hide wrong weights, wrap the call in "
            "final_softmax_as_linear(model_a, model_b)"
        )
    error = max_rel_error(out_a, out_b)
    assert error < tol, f"outputs differ: max relative error {error:.3g} >= {tol:.3g}"
    return error


@contextlib.contextmanager
def final_softmax_as_linear(*models: keras.Model) -> Iterator[None]:
    """Temporarily replace each model's final softmax by the identity.

    Why: with random weights deep networks (ResNet152 at 64x64) produce
    large logits, so the softmax is one-hot and identical for any weights;
    comparing logits keeps the test sensitive.  Every model must end in a
    layer whose ``activation`` is softmax (``Dense(..., activation=
    "softmax")`` or ``Activation("softmax")``), otherwise ``ValueError``,
    so a missing softmax is still caught.  Only affects eager calls such as
    ``model(x)`` inside the ``with`` block (``model.predict`` may reuse a
    function traced earlier that still applies softmax); the layers are
    restored on exit.
    """
    softmax = keras.activations.get("softmax")
    last_layers = []
    for model in models:
        layer = model.layers[-1]
        if getattr(layer, "activation", None) is not softmax:
            raise ValueError(
                f"model {model.name!r} does not end in a softmax layer "
                f"(last layer {layer.name!r}: {type(layer).__name__})"
            )
        last_layers.append(layer)
    try:
        for layer in last_layers:
            layer.activation = keras.activations.linear
        yield
    finally:
        for layer in last_layers:
            layer.activation = softmax


# --------------------------------------------------------------------------
# keras_applications 1.0.8 under Keras 3
# --------------------------------------------------------------------------


def _int_shape(x: Any) -> tuple[int | None, ...]:
    """Keras 2's ``backend.int_shape`` for Keras 3 (symbolic) tensors."""
    return tuple(None if d is None else int(d) for d in x.shape)


class _LegacyBackend:
    """``keras.backend`` plus the Keras 2 functions keras_applications uses."""

    int_shape = staticmethod(_int_shape)
    name_scope = keras.name_scope

    def __getattr__(self, name: str) -> Any:
        return getattr(keras.backend, name)


def legacy_submodules() -> dict[str, Any]:
    """The ``backend/layers/models/utils`` kwargs keras_applications accepts.

    Why: keras_applications 1.0.8 takes its Keras modules as keyword
    arguments.  ResNet50 builds with plain ``keras.backend``, but other
    models call Keras 2 functions Keras 3's ``keras.backend`` lacks
    (``int_shape`` in MobileNetV2, InceptionResNetV2, ResNeXt ...;
    ``name_scope`` in NASNet), so ``backend`` adds those on top of
    ``keras.backend``.  Checked under Keras 3.15: VGG16/19, ResNet50,
    InceptionV3, InceptionResNetV2, Xception, MobileNet, MobileNetV2,
    ResNet50/V2, ResNeXt50 build; DenseNet does not (its layer names contain
    ``/``, which Keras 3 rejects) nor NASNet (``SeparableConv2D`` no longer
    accepts ``kernel_initializer``).
    """
    return {
        "backend": _LegacyBackend(),
        "layers": keras.layers,
        "models": keras.models,
        "utils": keras.utils,
    }


def legacy_resnet50(**kwargs: Any) -> keras.Model:
    """keras_applications 1.0.8 ``ResNet50`` built with Keras 3.

    Why: this is the architecture of the original
    fchollet/deep-learning-models ResNet50 file: names ``conv1``,
    ``bn_conv1``, ``res2a_branch2a`` ... ``fc1000``; BatchNormalization
    epsilon 1e-3; ``add([x, shortcut])``, so ``model.layers`` has
    ``res2a_branch2c, res2a_branch1, bn2a_branch2c, bn2a_branch1`` where
    today's ``keras.applications.ResNet50`` (``Add()([shortcut, x])``,
    epsilon 1.001e-5) has ``conv2_block1_0_conv, conv2_block1_3_conv,
    conv2_block1_0_bn, conv2_block1_3_bn``.
    ``weights`` defaults to ``None``; other arguments pass through.  With the
    top it has 177 layers, 107 of them weighted, and 25,636,712 parameters.
    """
    from keras_applications import resnet50  # local: optional dependency

    kwargs.setdefault("weights", None)
    return resnet50.ResNet50(**kwargs, **legacy_submodules())


class ReferenceCase:
    """A randomised reference model and its legacy weight file, and the checks an archspec build must pass.

    The Keras session is cleared first so the reference's auto-names (zero_padding2d, max_pooling2d, ...)
    are those of a fresh process, which archspec's per-build auto-names reproduce.
    """

    def __init__(self, constructor: Any, name: str, input_shape: tuple, tmp_path: Any, **options: Any):
        import archspec

        keras.backend.clear_session()
        self._build = archspec.build
        self.name, self.input_shape, self.options = name, input_shape, options
        self.ref = constructor(weights=None, input_shape=input_shape, **options)
        self.path = reference_weight_file(self.ref, tmp_path / f"{name}.h5")

    def build(self, by_name: bool) -> keras.Model:
        return self._build(self.name, weights=self.path, by_name=by_name, input_shape=self.input_shape,
                           **self.options)

    def check(self, model: keras.Model) -> None:
        """Same layer names in the same order, same params, same outputs (logits when there is a softmax)."""
        assert [layer.name for layer in model.layers] == [layer.name for layer in self.ref.layers]
        assert model.count_params() == self.ref.count_params()
        if self.options.get("include_top", True):
            with final_softmax_as_linear(model, self.ref):  # random logits saturate the softmax
                assert_same_outputs(model, self.ref, seed=1)
        else:
            assert_same_outputs(model, self.ref, seed=1)


def graph_counts(graph: Any) -> tuple[int, int]:
    """(layers with weights, params) of an expanded graph, the numbers references publish."""
    nodes = graph.nodes.values()
    return sum(1 for d in nodes if d["weights"]), sum(d["params"] for d in nodes)


def reference_weight_file(model: keras.Model, path: Any, seed: int = 0) -> Any:
    """Give ``model`` seeded random weights and write them to ``path`` in the published legacy layout."""
    randomize_weights(model, seed=seed)
    write_legacy_h5(model, path)
    return path


def reference_case(references: dict[str, Any]) -> Any:
    """``case(name, input_shape, tmp_path, **options)`` building :class:`ReferenceCase` from a name table."""

    def case(name: str, input_shape: tuple, tmp_path: Any, **options: Any) -> ReferenceCase:
        return ReferenceCase(references[name], name, input_shape, tmp_path, **options)

    return case

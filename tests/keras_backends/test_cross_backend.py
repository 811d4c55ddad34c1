"""The emitted model on every Keras 3 backend: TensorFlow, JAX and PyTorch build it and compute the same function.

Keras fixes its backend on import, so this module runs one worker process per other backend (worker.py), JAX
and PyTorch side by side, each doing all its work in one go; TensorFlow's side runs here, in the test process.

- Equivalence: one representative spec per template library (every library in specs/lib is reached by one, a
  test checks it, so a new family needs a representative here). TensorFlow builds it without the top at its
  smallest input (networks whose top is a decoder or a detection head: with it, see WITH_TOP), gives it seeded random weights with the statistics of a batch of random images (its input
  normalization's and batch normalizations') and writes them in the published legacy layout
  (tests/support/reference.py); JAX and PyTorch build the spec with that file and must give the same features
  (the classifier's input) for two other images at relative error < 1e-4. Images are random pixels
  preprocessed as each spec says. The reference is Keras on TensorFlow, which the zoo tests hold to
  keras.applications.
- Every family of the bundled zoo (whatever specs/ holds when the test runs; a family is the templates and ops
  its specs use, built as its lightest member: tests/support/families.py) builds on JAX and PyTorch with its top
  at its smallest input (the representatives as compared): the same layers in the same order, the same parameter
  count and output shape on both backends and as the pure-Python graph (whose numbers the zoo tests hold to
  keras.applications, for every member).
- ``.keras`` files: ResNet-50 and a small network with every layer class archspec takes from
  keras.applications (the scaled residual, ConvNeXt's layer scale and stochastic depth) are saved on each
  backend and loaded on the other two, giving the TensorFlow features.
- The README's backend commands run in the workers, before Keras is imported: ``KERAS_BACKEND=...`` and
  ``--backend NAME`` (that worker starts with another KERAS_BACKEND, so the option must win).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

import archspec
from archspec.api import layer_graph
from archspec.graph.order import keras_layer_order
from archspec.lang.sources import bundled_dir, bundled_names
from tests.support.application_layers import APPLICATION_LAYERS_SPEC
from tests.support.families import family_representatives
from tests.support.paths import ROOT
from tests.support.reference import max_rel_error, randomize_weights, write_legacy_h5
from tests.support.sizes import accepted_size
from tests.keras_backends.worker import flat, publish
from tests.test_doc_examples import doc_block
from tests.zoo.test_efficientnet import calibrate_batch_norm, pixels

WORKER = Path(__file__).with_name("worker.py")
OTHERS = ("jax", "torch")
BACKENDS = ("tensorflow", *OTHERS)
TOLERANCE = 1e-4
# XLA's LLVM code generation at -O0 (the HLO passes, fusion included, still run): a fifth less CPU for the JAX
# worker's representatives (56 -> 44 s alone); floating-point semantics are the same at every level.
# PyTorch on one thread: the two workers and the test process share the cores, and idle intra-op threads spin
# (a third of the PyTorch worker's CPU time when it had two).
WORKER_ENV = {"jax": {"XLA_FLAGS": "--xla_backend_optimization_level=0"}, "torch": {"OMP_NUM_THREADS": "1"}}
CALIBRATION = 8  # images whose statistics the reference weights take (see _reference_weight_file)
SPREAD = 100 * TOLERANCE  # the reference features of two inputs must differ by this much (not vacuous)

# Representatives compared with their top: a network whose top outputs maps (a decoder, a detection head) has
# its own ops there (group norm, aligned and plain bilinear resizing, broadcasting, gates); every such op of a
# bundled network runs in one of these (a test checks it). The others compare features (the classifier's input).
WITH_TOP = ("fpn_resnet34", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
# One spec per template library (resnet.yaml's bottleneck: resnet50).
REPRESENTATIVES = [
    "resnet50", "resnet50v2", "resnext50_32x4d", "densenet121", "inception_resnet_v2", "inception_v3", "xception",
    "vgg16", "mobilenet", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_v2_b0",
    "convnext_tiny", "nasnet_mobile", "shufflenet_v2_x0_5", "squeezenet1_1", "yolov8n", *WITH_TOP,
]
SHARED_LIBRARIES = {"heads.yaml"}  # the classifier heads: not built without the top
# Libraries whose networks use no op (with its activation) that a representative does not: what a backend
# computes differently would show there too (names and wiring differ, and every spec builds on each backend).
COVERED_BY = {"resnet_legacy.yaml": ("resnet50_legacy", ("resnet50",)), "resnet_basic.yaml": ("resnet18", ("resnet50",)),
              "mnasnet.yaml": ("mnasnet0_5", ("shufflenet_v2_x0_5", "resnet50")),
              "googlenet.yaml": ("googlenet", ("shufflenet_v2_x0_5", "squeezenet1_1")),
              "regnet.yaml": ("regnet_y_400mf", ("efficientnet_b0", "resnet50", "squeezenet1_1", "resnext50_32x4d")),
              "unet.yaml": ("unet_resnet34", ("yolov8n", "resnet50")), "fpn.yaml": ("resnet50_fpn_backbone", ("resnet50",)),
}

SAVED = ("resnet50", "application_layers")


def _input_shape(spec: str) -> tuple[int, int, int]:
    return accepted_size(spec, archspec.load_spec(spec).data.get("min_input") or 32)


def readme_commands() -> list[str]:
    """The ``archspec build`` lines of the README's backend section (each run by a worker)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Choosing a Keras backend", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()
            if "archspec build" in line]


def _command_backend(line: str) -> tuple[str, list[str], bool]:
    """(backend, argv after 'archspec', whether --backend chooses it) of a README command line."""
    words = shlex.split(line)
    env = dict(w.split("=", 1) for w in words[:words.index("archspec")])
    argv = words[words.index("archspec") + 1:]
    if "--backend" in argv:
        return argv[argv.index("--backend") + 1], argv, True
    return env["KERAS_BACKEND"], argv, False


class Runs:
    """Everything the three backends produced, in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.tensorflow: dict[str, np.ndarray] = {}
        self.reports: dict[str, dict] = {}
        self.specs = {name: folder / f"{name}.yaml" if name == "application_layers" else name
                      for name in [*REPRESENTATIVES, "application_layers"]}

    def shape(self, name: str) -> tuple[int, int, int]:
        return (8, 8, 3) if name == "application_layers" else _input_shape(name)

    def path(self, backend: str, name: str, suffix: str = ".npy") -> Path:
        return self.folder / backend / f"{name}{suffix}"

    def features(self, backend: str, name: str) -> np.ndarray:
        return self.tensorflow[name] if backend == "tensorflow" else np.load(self.path(backend, name))


def _images(spec: str | Path, seed: list[int], batch: int, shape: tuple) -> np.ndarray:
    """Random pixels in [0, 255] preprocessed as the spec's weights expect (``archspec.preprocess``): the
    input a user gives the model. Standard-normal input is not that for a model that rescales pixels itself
    (EfficientNet, MobileNetV3, ConvNeXt): EfficientNetV2's Rescaling(1/128, offset=-1) made it -1 plus a
    signal of 0.008, and float32 round-off of the -1 (1.3e-4 apart on PyTorch) passed for the signal."""
    return archspec.preprocess(spec, pixels(seed, batch, shape))


def _reference_weight_file(model: keras.Model, path: Path, x: np.ndarray) -> None:
    """Seeded random weights with the statistics of the batch ``x``, written in the published legacy layout.

    Each Normalization whose mean and variance are weights gets its input's (what ``adapt`` on the data
    does), then each BatchNormalization its input's, Dropout off (``calibrate_batch_norm``). Why: statistics
    taken while Normalization still used its initial mean 0 and variance 1 (assigned statistics take effect
    at ``finalize_state``) do not fit the network that runs: EfficientNet-B0's features grew to 2e6 and
    float32 round-off to 1e-4..1.6e-2 between backends; and Dropout during calibration drew new masks in
    every run, so the reference changed from run to run.
    """
    randomize_weights(model, seed=0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Normalization) and layer.weights:  # not a fixed mean (ConvNeXt)
            layer.adapt(np.asarray(keras.Model(model.input, layer.input)(x)))
    calibrate_batch_norm(model, x)
    write_legacy_h5(model, path)


def _reference_side(runs: Runs) -> None:
    """TensorFlow: each representative with seeded random weights, its weight file, inputs and features."""
    for name, spec in runs.specs.items():
        keras.backend.clear_session()
        shape = runs.shape(name)
        model = archspec.build(spec, include_top=name in WITH_TOP, input_shape=shape)
        _reference_weight_file(model, runs.path("weights", name, ".h5"), _images(spec, [0, 1], CALIBRATION, shape))
        x = _images(spec, [7, len(name)], 2, shape)
        publish(runs.path("inputs", name), lambda path: np.save(path, x))  # the workers wait for it
        runs.tensorflow[name] = flat(model(x, training=False))
        if name in SAVED:
            publish(runs.path("tensorflow", name, ".keras"), model.save)
            runs.tensorflow[f"classes_{name}"] = sorted({type(layer).__name__ for layer in model.layers})


def _job(runs: Runs, backend: str, commands: list[list[str]]) -> Path:
    equivalence = [{"spec": str(spec), "input_shape": list(runs.shape(name)), "include_top": name in WITH_TOP,
                    "weights": str(runs.path("weights", name, ".h5")), "x": str(runs.path("inputs", name)),
                    "out": str(runs.path(backend, name)),
                    **({"save": str(runs.path(backend, name, ".keras"))} if name in SAVED else {})}
                   for name, spec in runs.specs.items()]
    load = [{"path": str(runs.path(source, name, ".keras")), "x": str(runs.path("inputs", name)),
             "out": str(runs.path(backend, f"{name}_from_{source}"))}
            for source in BACKENDS if source != backend for name in SAVED]
    job = {"commands": commands, "equivalence": equivalence, "load": load,
           "build_all": [{"spec": name, "input_shape": list(_input_shape(name)), "include_top": _with_top(name)}
                         for name in _built()],
           "report": str(runs.path(backend, "report", ".json"))}
    path = runs.path(backend, "job", ".json")
    path.write_text(json.dumps(job))
    return path


def _start_workers(runs: Runs) -> dict:
    """The JAX and PyTorch workers, started before the reference side (they wait for the files they read)."""
    commands = {backend: [] for backend in OTHERS}
    chosen_by_option = set()
    for line in readme_commands():
        backend, argv, by_option = _command_backend(line)
        commands[backend].append(argv)
        if by_option:
            chosen_by_option.add(backend)
    procs = {}
    for backend in OTHERS:
        # a worker whose backend a README command chooses with --backend starts with another KERAS_BACKEND
        start = "tensorflow" if backend in chosen_by_option else backend
        env = {**os.environ, "KERAS_BACKEND": start, "TF_CPP_MIN_LOG_LEVEL": "3", **WORKER_ENV.get(backend, {})}
        log = open(runs.path(backend, "log", ".txt"), "w")
        procs[backend] = (subprocess.Popen([sys.executable, str(WORKER), str(_job(runs, backend, commands[backend]))],
                                           cwd=runs.folder / backend, env=env, stdout=log, stderr=subprocess.STDOUT),
                          log)
    return procs


def _finish_workers(runs: Runs, procs: dict, reference: Callable[[], None]) -> None:
    """Run ``reference`` (the TensorFlow side) while the workers run, then wait for them; a failure of any
    stops all."""
    failed = []
    try:
        reference()
        for backend, (proc, log) in procs.items():
            if proc.wait(timeout=1800) != 0:
                failed.append(backend)
                break
    finally:
        for backend, (proc, log) in procs.items():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    for backend in failed:
        tail = runs.path(backend, "log", ".txt").read_text()[-3000:]
        pytest.fail(f"the {backend} worker failed:\n{tail}")
    for backend in OTHERS:
        runs.reports[backend] = json.loads(runs.path(backend, "report", ".json").read_text())


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    runs = Runs(tmp_path_factory.mktemp("backends"))
    for sub in ("weights", "inputs", *BACKENDS):
        (runs.folder / sub).mkdir()
    runs.specs["application_layers"].write_text(APPLICATION_LAYERS_SPEC)
    start = _cpu()
    _finish_workers(runs, _start_workers(runs), lambda: _reference_side(runs))
    runs.cpu_seconds = {"tensorflow reference": _cpu() - start}
    for backend in OTHERS:
        runs.cpu_seconds.update({f"{backend} {k}": v for k, v in runs.reports[backend]["cpu_seconds"].items()})
    print("CPU seconds:", {k: round(v, 1) for k, v in runs.cpu_seconds.items()})
    for source in OTHERS:  # their .keras files, loaded here on TensorFlow
        for name in SAVED:
            keras.backend.clear_session()
            model = keras.saving.load_model(runs.path(source, name, ".keras"))
            out = flat(model(np.load(runs.path("inputs", name)), training=False))
            np.save(runs.path("tensorflow", f"{name}_from_{source}"), out)
    return runs


def _with_top(name: str) -> bool:
    """How the workers build a bundled spec: with its top, but a representative as its comparison takes it."""
    return name in WITH_TOP or name not in REPRESENTATIVES


def _ops(spec: str, include_top: bool = False) -> set[tuple]:
    return {(layer.op, layer.attrs.get("activation")) for layer in layer_graph(spec, include_top=include_top)}


def test_every_template_library_has_a_representative():
    reached = {Path(source).name for name in REPRESENTATIVES for source in archspec.load_spec(name).sources}
    libraries = {path.name for path in (bundled_dir() / "lib").glob("*.yaml")}
    assert libraries - SHARED_LIBRARIES - reached - set(COVERED_BY) == set()
    for library, (spec, stand_ins) in COVERED_BY.items():
        assert any(Path(source).name == library for source in archspec.load_spec(spec).sources)
        assert _ops(spec) <= set().union(*map(_ops, stand_ins)), library


def test_every_op_of_a_decoder_runs_in_a_comparison():
    """A network whose top outputs maps (named outputs, or one output with height and width) uses no op in its
    top that no representative runs as compared (the other backends build it, but only the representatives'
    numbers are compared)."""
    compared = set().union(*(_ops(name, name in WITH_TOP) for name in REPRESENTATIVES))
    for name in bundled_names():
        graph = layer_graph(name)
        if graph.outputs or len(graph.output_layer.shape) == 3:
            assert _ops(name, include_top=True) <= compared, name


def test_the_small_network_has_every_keras_applications_layer_class(runs):
    from archspec.backend.keras_emitters import _APPLICATION_LAYERS

    assert set(_APPLICATION_LAYERS) <= set(runs.tensorflow["classes_application_layers"])


@pytest.mark.parametrize("backend", OTHERS)
def test_workers_ran_on_their_backend(runs, backend):
    assert runs.reports[backend]["backend"] == backend


@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("name", REPRESENTATIVES + ["application_layers"])
def test_features_match_tensorflow(runs, name, backend):
    reference = runs.tensorflow[name]
    spread = max_rel_error(reference[0], reference[1])
    assert spread >= SPREAD, f"vacuous: the two inputs give nearly the same features (spread {spread:.3g})"
    error = max_rel_error(runs.features(backend, name), reference)
    assert error < TOLERANCE, f"{name} on {backend}: max relative error {error:.3g}"


@pytest.mark.parametrize("backend", OTHERS)
def test_every_bundled_spec_builds(runs, backend):
    builds = runs.reports[backend]["builds"]
    other = runs.reports[next(b for b in OTHERS if b != backend)]["builds"]
    assert set(_built()) <= set(builds)
    failures = {name: b["error"] for name, b in builds.items() if "error" in b}
    assert failures == {}
    for name in _built():
        assert builds[name] == _graph_description(name), name
        assert builds[name] == other[name], name


@functools.cache
def _built() -> list[str]:
    """What the workers build: each family's lightest member, and the representatives (built with weights)."""
    return sorted(set(family_representatives().values()) | set(REPRESENTATIVES))


def test_every_family_of_the_zoo_is_built():
    families = family_representatives()
    assert set(families) == set(bundled_names()) and len(set(families.values())) >= 30
    assert (families["resnet152"], families["regnet_y_128gf"]) == ("resnet50", "regnet_y_400mf")  # the lightest


@functools.cache
def _graph_description(name: str) -> dict:
    """The worker's description of a build, from the pure-Python graph (once for both backends)."""
    graph = layer_graph(name, include_top=_with_top(name), input_shape=_input_shape(name))
    return {"layers": [graph.layers[n].name for n in keras_layer_order(graph)],
            "params": sum(layer.params for layer in graph),
            "output_shapes": [[None, *graph.layers[i].shape] for i in graph.output_ids()]}


@pytest.mark.parametrize("name", SAVED)
@pytest.mark.parametrize("source,target", [(s, t) for s in BACKENDS for t in BACKENDS if s != t])
def test_keras_file_from_one_backend_loads_on_another(runs, source, target, name):
    out = np.load(runs.path(target, f"{name}_from_{source}"))
    error = max_rel_error(out, runs.tensorflow[name])
    assert error < TOLERANCE, f"{name}.keras saved on {source}, loaded on {target}: max relative error {error:.3g}"


def test_readme_backend_commands_ran_on_the_backend_they_name(runs):
    lines = readme_commands()
    assert lines == [line for line in doc_block("README.md", "KERAS_BACKEND=torch archspec build").splitlines()
                     if line.strip()]  # the marked block, every line of it
    assert any("--backend" in line for line in lines) and any("KERAS_BACKEND=" in line for line in lines)
    ran = {shlex.join(c["argv"]): (backend, c) for backend in OTHERS for c in runs.reports[backend]["commands"]}
    for line in lines:
        backend, argv, _ = _command_backend(line)
        ran_on, command = ran[shlex.join(argv)]
        assert ran_on == backend and command["code"] == 0, command
        assert re.match(r"\w+: \d+ layers, \d+ with weights, [\d,]+ params, output", command["stdout"]), command


def test_readme_extras_install_keras_and_the_backend():
    section = (ROOT / "README.md").read_text().split("## Choosing a Keras backend", 1)[1].split("\n## ", 1)[0]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = set(re.findall(r"pip install -e '\.\[(\w+)\]'", section))
    assert named == set(BACKENDS)
    for backend in named:
        packages = {re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0] for requirement in extras[backend]}
        assert backend in packages and ("keras" in packages or backend == "tensorflow"), (backend, packages)
        assert "h5py" in packages, backend  # weight files are read with h5py on every backend


def test_the_emitted_model_uses_keras_alone():
    """What the model is made of (the op records and the backend) imports no backend package, only Keras
    (keras.layers, keras.ops), so it runs on any backend. (Reading a PyTorch checkpoint uses torch, in
    archspec/weights, which builds no layer.)"""
    import ast

    banned = {"tensorflow", "jax", "jaxlib", "torch"}
    routes = ROOT / "archspec" / "backend" / "artifact.py"  # `archspec export`: each format's own runtime, not the model
    found = []
    for path in [*(ROOT / "archspec" / "ops").rglob("*.py"), *(ROOT / "archspec" / "backend").rglob("*.py")]:
        if path == routes:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in banned]
    assert found == []

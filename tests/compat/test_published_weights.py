"""``weights="imagenet"``: a spec's published files, the ones keras.applications fetches (issue 12).

Expected file names, URLs and hashes come from the installed keras.applications sources, never from the
specs. No test touches the network or ~/.keras: KERAS_HOME is a temporary folder, and the weight files
are reference-built (seeded random) files put into that cache or served by an HTTPS server on 127.0.0.1.
The trust policy's hostile cases are in tests/hostile/test_published.py.
"""

from __future__ import annotations

import ast
import hashlib
import inspect

import keras
import pytest
from keras.src.applications import (convnext, densenet, efficientnet, efficientnet_v2, inception_resnet_v2, inception_v3,
                                    mobilenet, mobilenet_v2, mobilenet_v3, nasnet, resnet, vgg16, vgg19, xception)
from keras.src.utils import file_utils

import archspec
from archspec.api import load_spec, published_file
from archspec.errors import SpecError
from archspec.lang.sources import bundled_names
from tests.support.https import https_server  # noqa: F401 (a fixture)
from tests.support.reference import assert_same_outputs
from tests.zoo.test_mobilenet import _calibrated_weight_file

MOBILENET_OPTIONS = {"include_top": False, "input_shape": (128, 128, 3)}  # alpha 0.25: the cheapest family


@pytest.fixture(autouse=True)
def keras_home(tmp_path_factory, monkeypatch):
    """A fresh Keras cache for every test (KERAS_HOME is read when Keras is imported, so the folder Keras
    kept is patched too)."""
    home = tmp_path_factory.mktemp("keras_home")
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(home))
    return home


# ------------------------------------------------------------------- what keras.applications fetches

def _literal_calls(module) -> dict[str, tuple[str, str | None]]:
    """file -> (url, hash) for every ``get_file`` call of a module whose arguments are literals, module
    constants or a local assigned a literal just before (vgg, xception, inception, densenet)."""
    tree = ast.parse(inspect.getsource(module))
    assigns = sorted(((n.lineno, n.targets[0].id, n.value) for n in ast.walk(tree)
                      if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
                      and isinstance(n.value, ast.Constant)), key=lambda a: a[0])
    found = {}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "get_file"):
            continue
        local = {name: value.value for line, name, value in assigns if line < call.lineno}

        def value(node):
            return eval(compile(ast.Expression(node), module.__name__, "eval"), vars(module), local)  # keras's code

        hashes = [value(k.value) for k in call.keywords if k.arg == "file_hash"]
        found[value(call.args[0])] = (value(call.args[1]), hashes[0] if hashes else None)
    return found


def _keras_files(spec: str, include_top: bool) -> tuple[str, str, str | None]:
    """(file, url, hash) keras.applications passes to get_file for the model a bundled spec is."""
    i = 0 if include_top else 1
    if spec.startswith("resnet"):  # resnet.py: f"{weights_name}_weights_tf_dim_ordering_tf_kernels[_notop].h5"
        file = f"{spec}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
        return file, resnet.BASE_WEIGHTS_PATH + file, resnet.WEIGHTS_HASHES[spec][i]
    if spec.startswith("efficientnet_v2"):  # efficientnet_v2.py: name + (".h5" | "_notop.h5")
        key = spec.rsplit("_", 1)[1]
        file = f"efficientnetv2-{key}{'.h5' if include_top else '_notop.h5'}"
        return file, efficientnet_v2.BASE_WEIGHTS_PATH + file, \
            efficientnet_v2.WEIGHTS_HASHES[key if key.startswith("b") else f"-{key}"][i]
    if spec.startswith("efficientnet"):
        key = spec.rsplit("_", 1)[1]
        file = f"efficientnet{key}{'.h5' if include_top else '_notop.h5'}"
        return file, efficientnet.BASE_WEIGHTS_PATH + file, efficientnet.WEIGHTS_HASHES[key][i]
    if spec.startswith("mobilenet"):
        return _mobilenet_files(spec, include_top, 1.0, False, 224)
    if spec.startswith("convnext"):  # convnext.py: name + (".h5" | "_notop.h5"), the model's name
        file = f"{spec}{'.h5' if include_top else '_notop.h5'}"
        return file, convnext.BASE_WEIGHTS_PATH + file, convnext.WEIGHTS_HASHES[spec][i]
    if spec.startswith("nasnet"):  # nasnet.py: literal file names, URLs from module constants
        file = f"{spec}{'.h5' if include_top else '_no_top.h5'}"
        return (file, *_literal_calls(nasnet)[file])
    module = {"vgg16": vgg16, "vgg19": vgg19, "xception": xception, "inception_v3": inception_v3,
              "inception_resnet_v2": inception_resnet_v2, "densenet121": densenet, "densenet169": densenet,
              "densenet201": densenet}[spec]
    file = f"{spec}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return (file, *_literal_calls(module)[file])


def _mobilenet_files(spec: str, include_top: bool, alpha: float, minimalistic: bool, rows: int):
    """The names mobilenet*.py compose (mobilenet.py:248-268, mobilenet_v2.py:369-387, mobilenet_v3.py:383-392)."""
    if spec == "mobilenet":
        text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0"}.get(alpha, "2_5")
        file = f"mobilenet_{text}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        return file, mobilenet.BASE_WEIGHT_PATH + file, None
    if spec == "mobilenet_v2":
        file = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{'' if include_top else '_no_top'}.h5"
        return file, mobilenet_v2.BASE_WEIGHT_PATH + file, None
    name = f"{spec.rsplit('_', 1)[1]}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    file = f"weights_mobilenet_v3_{name}{'' if include_top else '_no_top_v2'}.h5"
    return file, mobilenet_v3.BASE_WEIGHT_PATH + file, mobilenet_v3.WEIGHTS_HASHES[name][0 if include_top else 1]


KERAS_PUBLISHED = [  # every bundled spec that keras.applications publishes ImageNet weights for
    "resnet50", "resnet101", "resnet152", "resnet50v2", "resnet101v2", "resnet152v2", "vgg16", "vgg19", "xception",
    "inception_v3", "inception_resnet_v2", "densenet121", "densenet169", "densenet201", "mobilenet",
    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", *(f"efficientnet_b{i}" for i in range(8)),
    *(f"efficientnet_v2_{k}" for k in ("b0", "b1", "b2", "b3", "s", "m", "l")),
    *(f"convnext_{k}" for k in ("tiny", "small", "base", "large", "xlarge")), "nasnet_mobile", "nasnet_large",
]


def _declared(spec: str, include_top: bool) -> tuple:
    found = published_file(load_spec(spec), include_top)
    return found["file"], found["url"], found["hash"]


@pytest.mark.parametrize("spec", KERAS_PUBLISHED)
def test_declared_files_are_keras_applications_files(spec):
    for include_top in (True, False):
        assert _declared(spec, include_top) == _keras_files(spec, include_top)


@pytest.mark.parametrize("spec,alpha,minimalistic,rows", [
    ("mobilenet", 0.25, False, 128), ("mobilenet", 0.5, False, 192), ("mobilenet", 0.75, False, 160),
    ("mobilenet_v2", 0.35, False, 96), ("mobilenet_v2", 1.3, False, 224), ("mobilenet_v2", 1.4, False, 160),
    ("mobilenet_v3_small", 0.75, False, 224), ("mobilenet_v3_large", 1.0, True, 224),
    ("mobilenet_v3_small", 1.0, True, 224)])
def test_mobilenet_file_names_follow_the_options(spec, alpha, minimalistic, rows):
    """The names depend on vars (alpha, minimalistic) and the input size, written as spec expressions."""
    overrides = {"vars.alpha": alpha, **({"vars.minimalistic": True} if minimalistic else {})}
    for include_top in (True, False):
        found = published_file(load_spec(spec, overrides), include_top, (rows, rows, 3))
        assert (found["file"], found["url"], found["hash"]) == \
            _mobilenet_files(spec, include_top, alpha, minimalistic, rows)
    if spec != "mobilenet_v3_small":  # keras falls back to 224 for a size without files (non-square here)
        found = published_file(load_spec(spec, overrides), False, (rows, rows + 32, 3))
        assert found["file"] == _mobilenet_files(spec, False, alpha, minimalistic, 224)[0]


@pytest.mark.parametrize("constructor,options,spec,overrides", [
    (mobilenet.MobileNet, {"alpha": 0.25, "input_shape": (128, 128, 3)}, "mobilenet", {"vars.alpha": 0.25}),
    (mobilenet_v3.MobileNetV3Small, {"minimalistic": True, "input_shape": (32, 32, 3)}, "mobilenet_v3_small",
     {"vars.minimalistic": True}),
    (resnet.ResNet50, {"input_shape": (32, 32, 3)}, "resnet50", {}),
])
def test_the_call_keras_makes_is_the_call_archspec_makes(monkeypatch, constructor, options, spec, overrides):
    """keras's actual get_file call (intercepted) for a no-top model, against the spec's entry."""
    calls = []

    class Fetched(Exception):
        pass

    def get_file(fname, origin, cache_subdir, file_hash=None):
        calls.append((fname, origin, cache_subdir, file_hash))
        raise Fetched

    monkeypatch.setattr(file_utils, "get_file", get_file)
    with pytest.raises(Fetched):
        constructor(include_top=False, weights="imagenet", **options)
    found = published_file(load_spec(spec, overrides), False, options["input_shape"])
    assert calls == [(found["file"], found["url"], "models", found["hash"])]


def test_specs_keras_publishes_nothing_for_say_so():
    for spec in ("resnet18", "resnet34", "resnext50_32x4d", "wide_resnet50_2", "inception_resnet_v1",
                 "resnet50_legacy"):  # keras.applications publishes no ImageNet files for these
        with pytest.raises(SpecError, match=f"'{spec}' declares no published 'imagenet' weights"):
            published_file(load_spec(spec), False)
    with pytest.raises(SpecError) as info:
        archspec.build("resnet18", weights="imagenet", include_top=False)
    assert "'resnet18' declares no published 'imagenet' weights" in str(info.value)
    hint = info.value.diagnostics[0].hint  # names the specs that have them (others may inherit an entry)
    having = set(hint.split(": ", 1)[1].split(";")[0].split(", "))
    assert having >= set(KERAS_PUBLISHED) and having <= set(bundled_names())


def test_options_without_published_files_are_a_located_error():
    with pytest.raises(SpecError) as info:
        archspec.build("mobilenet", weights="imagenet", include_top=False, overrides={"vars.alpha": 0.3})
    diagnostic = info.value.diagnostics[0]
    assert "no published 'imagenet' weights for these options" in diagnostic.message and "alpha=0.3" in diagnostic.message
    assert diagnostic.location.file.endswith("mobilenet.yaml") and diagnostic.pointer == "/published/imagenet/if"
    assert "0.25, 0.5, 0.75 and 1.0" in diagnostic.hint


def test_torchvision_topologies_refuse_the_keras_files_they_would_inherit():
    """A *_torch spec extends a Keras spec but changes its topology (stride on the 3x3, symmetric padding,
    BN epsilon): keras.applications' files would load by shape and compute something else."""
    torch_specs = [n for n in bundled_names() if n.endswith("_torch")]
    assert len(torch_specs) >= 9
    for spec in torch_specs:
        with pytest.raises(SpecError, match=f"'{spec}' cannot load its published 'imagenet' weights"):
            published_file(load_spec(spec), False)


# ------------------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def mobilenet_reference(tmp_path_factory):
    """keras.applications.MobileNet(alpha=0.25) without its top, seeded random weights (batch-norm
    statistics calibrated so outputs depend on the input, as the zoo test does), in the published layout."""
    ref = mobilenet.MobileNet(alpha=0.25, weights=None, **MOBILENET_OPTIONS)
    path = tmp_path_factory.mktemp("ref") / "mobilenet_notop.h5"
    _calibrated_weight_file(ref, path)
    return ref, path


def test_imagenet_from_a_seeded_cache_matches_keras_applications_offline(keras_home, mobilenet_reference, cli):
    """The file sits in the Keras cache under keras's name: both keras.applications and archspec load it
    from there (keras publishes no hash for MobileNet, so the cached file is used as it is)."""
    ref, path = mobilenet_reference
    file = _mobilenet_files("mobilenet", False, 0.25, False, 128)[0]
    (keras_home / "models").mkdir()
    (keras_home / "models" / file).write_bytes(path.read_bytes())
    keras.backend.clear_session()  # both models from the same auto-name counters
    ours = archspec.build("mobilenet", weights="imagenet", overrides={"vars.alpha": 0.25}, **MOBILENET_OPTIONS)
    keras.backend.clear_session()
    theirs = mobilenet.MobileNet(alpha=0.25, weights="imagenet", **MOBILENET_OPTIONS)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert_same_outputs(ours, theirs, seed=1)
    assert_same_outputs(ours, ref, seed=2)
    assert cli("build", "mobilenet", "--weights", "imagenet", "--no-top", "--set", "vars.alpha=0.25",
               "--input-shape", "128,128,3").code == 0


def test_a_variant_overrides_the_entry_and_the_hash_is_checked(tmp_path, keras_home, mobilenet_reference,
                                                                https_server):
    """A user spec extends the bundled one and publishes its own file (an https URL with its md5): the file is
    downloaded, its hash checked before it is kept (in archspec's cache, in a folder named by that hash; never
    in the Keras cache), and loaded; a wrong hash is a located error and keeps nothing."""
    ref, path = mobilenet_reference
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    route = f"/weights/my_mobilenet_{digest[:4]}_notop.h5"
    url = https_server.serve(route, path.read_bytes())
    (tmp_path / ".git").mkdir()

    def variant(file_hash: str):
        spec = tmp_path / f"mine_{file_hash[:4]}.yaml"
        spec.write_text(f"""archspec: 1
extends: archspec:mobilenet
name: my_mobilenet
vars: {{alpha: 0.25}}
published:
  imagenet:
    notop: {{file: my_mobilenet_{digest[:4]}_notop.h5, url: "{url.rsplit('/', 1)[0]}/{{file}}", hash: '{file_hash}'}}
""")
        return spec

    ours = archspec.build(variant(digest), weights="imagenet", **MOBILENET_OPTIONS)
    kept = keras_home / "archspec" / "published" / digest / f"my_mobilenet_{digest[:4]}_notop.h5"
    assert kept.read_bytes() == path.read_bytes()
    assert not (keras_home / "models").exists()
    assert_same_outputs(ours, ref, seed=1)
    assert len(load_spec(variant(digest)).data["published"]["imagenet"]["top"]) == 3  # the base's top entry stays
    with pytest.raises(SpecError) as info:
        archspec.build(variant("0" * 32), weights="imagenet", **MOBILENET_OPTIONS)
    assert "could not get the published weights" in str(info.value) and "nothing was kept" in str(info.value)
    assert info.value.diagnostics[0].location.file.endswith("mine_0000.yaml")
    assert not (keras_home / "archspec" / "published" / ("0" * 32)).exists()
    assert https_server.requests == [route, route]  # each build asked once: nothing else was fetched


def test_the_readme_example(keras_home, tmp_path):
    """README.md's weights="imagenet" block, run against a cache seeded with reference-built files under
    keras's names (MobileNet has no published hash, so seeded files are used as they are)."""
    from tests.test_doc_examples import doc_block

    block = doc_block("README.md", 'archspec.build("mobilenet", weights="imagenet")')
    (keras_home / "models").mkdir()
    for alpha, options in [(1.0, {}), (0.5, {"include_top": False, "input_shape": (160, 160, 3)})]:
        keras.backend.clear_session()
        ref = mobilenet.MobileNet(alpha=alpha, weights=None, **options)
        file = _mobilenet_files("mobilenet", options.get("include_top", True), alpha, False,
                                options.get("input_shape", (224,))[0])[0]
        _calibrated_weight_file(ref, keras_home / "models" / file)
    namespace = {"archspec": archspec}
    keras.backend.clear_session()
    exec(block, namespace)
    assert namespace["model"].output_shape == (None, 1000)
    assert namespace["backbone"].output_shape == (None, 5, 5, 512)
    assert_same_outputs(namespace["backbone"], ref, seed=1)


def test_efficientnet_v1_imagenet_has_the_extra_rescaling_keras_inserts(monkeypatch, keras_home):
    """With weights="imagenet" keras.applications' EfficientNet divides by sqrt(stddev) once more after the
    normalization (a weightless Rescaling, auto-named); the spec's `if: weights == 'imagenet'` step makes the
    same layer, so the published file gives keras's outputs. keras checks the published hash, which a
    reference-built file cannot have: its get_file is intercepted and hands over the reference file, which
    archspec finds in the Keras cache under keras's name with its own md5 given by ``--set``."""
    options = {"include_top": False, "input_shape": (32, 32, 3)}
    keras.backend.clear_session()
    path = keras_home / "models" / "efficientnetb0_notop.h5"
    path.parent.mkdir()
    _calibrated_weight_file(efficientnet.EfficientNetB0(weights=None, **options), path)
    calls = []

    def get_file(fname, origin, cache_subdir, file_hash=None):
        calls.append((fname, origin, cache_subdir, file_hash))
        return str(path)

    monkeypatch.setattr(file_utils, "get_file", get_file)
    monkeypatch.setattr(keras.utils, "get_file", get_file)
    keras.backend.clear_session()  # both models from the same auto-name counters
    theirs = efficientnet.EfficientNetB0(weights="imagenet", **options)
    keras.backend.clear_session()
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    ours = archspec.build("efficientnet_b0", weights="imagenet", overrides={"published.imagenet.notop.hash": md5},
                          **options)
    assert calls == [(*_declared("efficientnet_b0", False)[:2], "models", _declared("efficientnet_b0", False)[2])]
    assert calls[0][0] == "efficientnetb0_notop.h5"
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert "rescaling_1" in [layer.name for layer in ours.layers]
    assert_same_outputs(ours, theirs, seed=3)
    keras.backend.clear_session()  # without published weights neither has the extra layer
    plain = archspec.build("efficientnet_b0", weights=str(path), **options)
    assert [layer.name for layer in plain.layers] == \
        [layer.name for layer in efficientnet.EfficientNetB0(weights=None, **options).layers]


def test_mobilenet_with_its_top_at_the_other_published_sizes(keras_home, cli):
    """keras.applications takes a square input of 128, 160 or 192 as MobileNet's default_size, so the top file
    of that size loads (`published.imagenet.sizes`); other sizes are refused with keras's own message."""
    file = _mobilenet_files("mobilenet", True, 0.25, False, 128)[0]
    (keras_home / "models").mkdir()
    keras.backend.clear_session()
    _calibrated_weight_file(mobilenet.MobileNet(alpha=0.25, weights=None, input_shape=(128, 128, 3)),
                            keras_home / "models" / file)
    keras.backend.clear_session()
    theirs = mobilenet.MobileNet(alpha=0.25, weights="imagenet", input_shape=(128, 128, 3))
    keras.backend.clear_session()
    ours = archspec.build("mobilenet", weights="imagenet", input_shape=(128, 128, 3), overrides={"vars.alpha": 0.25})
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert ours.output_shape == theirs.output_shape == (None, 1000)
    assert_same_outputs(ours, theirs, seed=4)
    assert cli("build", "mobilenet", "--weights", "imagenet", "--input-shape", "128,128,3",
               "--set", "vars.alpha=0.25").code == 0
    for spec, constructor, size in [("mobilenet", mobilenet.MobileNet, 100), ("mobilenet_v2", mobilenet_v2.MobileNetV2, 112)]:
        with pytest.raises(ValueError) as theirs_error:
            constructor(weights="imagenet", input_shape=(size, size, 3))
        with pytest.raises(SpecError) as ours_error:
            archspec.build(spec, weights="imagenet", input_shape=(size, size, 3))
        assert str(theirs_error.value) in str(ours_error.value)

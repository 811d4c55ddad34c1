"""ConvNeXt Tiny, Small, Base, Large and XLarge specs against keras.applications.

Why: the specs must load the published ImageNet ``.h5`` files (by order, as keras.applications does, and by
name) and compute the reference's function. The reference nests its stem and downsampling blocks as
``keras.Sequential`` models (one entry of ``model.layers`` each) and ends each block with ``inputs + x``,
a Keras operation that is not a layer; with ``include_top=False`` it appends a layer norm, pooled or not.

Cost: every reference is built once, at the smallest input Keras accepts (32x32). The graph-only checks
(names, order, operations, stored weight shapes, params, without building archspec's model) run for all
five; seeded weight files loaded by order and by name with outputs compared run for Tiny and Small; Base
and Large load their file by name into one archspec build each (their order is held to the reference by
the graph-only check). XLarge (350 M parameters, Large's blocks at 4/3 the width) has the graph-only check:
its file alone is 1.4 GB and its by-name load would double this file's CPU time and peak memory.
"""

from __future__ import annotations

import keras
import pytest

import archspec
from archspec.api import layer_graph
from archspec.graph.order import keras_layer_order, keras_operation_order
from archspec.weights.match import check_weights
from tests.support.reference import assert_same_outputs, reference_case

TINY = (32, 32, 3)
REFERENCES = {
    "convnext_tiny": keras.applications.ConvNeXtTiny,
    "convnext_small": keras.applications.ConvNeXtSmall,
    "convnext_base": keras.applications.ConvNeXtBase,
    "convnext_large": keras.applications.ConvNeXtLarge,
    "convnext_xlarge": keras.applications.ConvNeXtXLarge,
}
case = reference_case(REFERENCES)


def _legacy_shapes(layer: keras.layers.Layer) -> list[tuple]:
    return [tuple(v.shape) for v in list(layer.trainable_weights) + list(layer.non_trainable_weights)]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_graph_alone_has_the_reference_layers_operations_and_weights(name):
    """From the pure-Python graph: model.layers (names, order), model.operations (the residual 'add' ops
    among them), each layer's stored weights (a nested Sequential's: its layers', trainable first) and the
    parameter count, against the reference built at 32x32 with weights=None."""
    keras.backend.clear_session()
    ref = REFERENCES[name](weights=None, input_shape=TINY)
    graph = layer_graph(name, input_shape=TINY)
    order = keras_layer_order(graph)
    assert [graph.layers[n].name for n in order] == [layer.name for layer in ref.layers]
    assert [graph.layers[n].name for n in keras_operation_order(graph)] == [o.name for o in ref.operations]
    assert [[tuple(w.shape) for w in graph.stored_weights(graph.layers[n])] for n in order] == [
        _legacy_shapes(layer) for layer in ref.layers]
    assert sum(layer.params for layer in graph) == ref.count_params()
    nested = [graph.layers[n].name for n in order if graph.layers[n].members]
    assert nested == [layer.name for layer in ref.layers if isinstance(layer, keras.Sequential)]
    assert len(nested) == 4


@pytest.fixture(scope="module", params=["convnext_tiny", "convnext_small"])
def full(request, tmp_path_factory):
    return case(request.param, TINY, tmp_path_factory.mktemp(request.param))


@pytest.mark.parametrize("by_name", [False, True], ids=["by_order", "by_name"])
def test_loads_the_reference_file_and_matches_its_outputs(full, by_name):
    full.check(full.build(by_name))


def test_check_weights_pairs_the_nested_layers_as_keras_loads_them(full):
    graph = layer_graph(full.name, input_shape=TINY)
    for mode in ("order", "name"):
        (report,) = check_weights(graph, full.path, mode).reports
        assert report.complete, mode
        assert [f for _, f in report.matched] == [layer.name for layer in full.ref.layers if layer.weights]


@pytest.mark.parametrize("name", ["convnext_base", "convnext_large"])
def test_large_variants_load_the_reference_file_by_name(name, tmp_path):
    c = case(name, TINY, tmp_path)
    c.check(c.build(by_name=True))


# include_top / pooling / classes / classifier_activation on the representative, loaded by name.
OPTIONS = {
    "no_top": {"include_top": False},
    "avg": {"include_top": False, "pooling": "avg"},
    "max": {"include_top": False, "pooling": "max"},
    "classes_linear": {"classes": 7, "classifier_activation": None},
}


@pytest.mark.parametrize("which", sorted(OPTIONS))
def test_options_match_the_reference(which, tmp_path):
    c = case("convnext_tiny", TINY, tmp_path, **OPTIONS[which])
    model = c.build(by_name=True)
    assert model.output_shape == c.ref.output_shape
    if OPTIONS[which].get("classifier_activation", "softmax") is None:  # logits already: no softmax to lift
        assert [layer.name for layer in model.layers] == [layer.name for layer in c.ref.layers]
        assert model.count_params() == c.ref.count_params()
        assert_same_outputs(model, c.ref, seed=1)
    else:
        c.check(model)


def test_without_preprocessing_the_model_starts_with_the_stem(tmp_path):
    keras.backend.clear_session()
    ref = keras.applications.ConvNeXtTiny(weights=None, input_shape=TINY, include_preprocessing=False)
    graph = layer_graph("convnext_tiny", input_shape=TINY, overrides={"vars.include_preprocessing": False})
    assert [graph.layers[n].name for n in keras_layer_order(graph)] == [layer.name for layer in ref.layers]
    assert archspec.load_spec("convnext_tiny").data["min_input"] == 32

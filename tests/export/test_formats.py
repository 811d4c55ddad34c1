"""JSON (networkx node-link) and GraphML exports carry every node attribute and round-trip."""

from __future__ import annotations

import io
import json
import re

import networkx as nx

from archspec.api import layer_graph
from archspec.export.nodes import graphml_graph, node_link

NODE_KEYS = {"op", "name", "attrs", "inputs", "shape", "weights", "params", "trainable", "macs", "loc", "pointer",
             "stage", "block", "auto_named", "index", "keras_index"}


def test_node_link_json_has_every_attribute_and_round_trips() -> None:
    graph = layer_graph("resnet50")
    text = json.dumps(node_link(graph), allow_nan=False)
    back = nx.node_link_graph(json.loads(text), edges="edges")
    assert set(back.nodes) == {d.name for d in graph.layers}
    assert back.number_of_edges() == sum(len(layer.inputs) for layer in graph)
    for data in back.nodes.values():
        assert set(data) >= NODE_KEYS
        assert re.fullmatch(r".+\.yaml:\d+:\d+", data["loc"])
    conv = back.nodes["conv1_conv"]
    assert conv["weights"] == [{"name": "kernel", "shape": [7, 7, 3, 64], "trainable": True},
                               {"name": "bias", "shape": [64], "trainable": True}]
    assert conv["inputs"] == ["conv1_pad"] and conv["shape"] == [112, 112, 64] and conv["attrs"]["filters"] == 64
    assert back.nodes["conv2_block1_add"]["inputs"] == ["conv2_block1_0_bn", "conv2_block1_3_bn"]
    assert back.graph["output"] == "predictions" and back.graph["input_shape"] == [224, 224, 3]
    assert sorted(d["keras_index"] for d in back.nodes.values()) == list(range(177))


def test_graphml_round_trips_with_flattened_attributes() -> None:
    graph = layer_graph("resnet50", input_shape=(None, None, 3), include_top=False)
    buf = io.BytesIO()
    nx.write_graphml(graphml_graph(graph), buf)
    back = nx.read_graphml(io.BytesIO(buf.getvalue()))
    assert back.__len__() == graph.__len__()
    assert back.number_of_edges() == sum(len(layer.inputs) for layer in graph)
    conv = back.nodes["conv1_conv"]
    assert conv["params"] == 9472 and conv["op"] == "conv2d"
    assert json.loads(conv["shape"]) == [None, None, 64]
    assert conv["attr_filters"] == "64" and json.loads(conv["attrs"])["kernel_size"] == 7
    assert "attr_activation" not in conv  # nulls are dropped

"""The layer graph every later stage consumes: typed layers in creation order, and the graph around them.

Layer ids are creation order, which is also a topological order and the order Keras layers are created
in. ``inputs`` are ordered (merge order decides Keras's layer order). :meth:`Graph.to_networkx` builds
the ``networkx.DiGraph`` that :func:`archspec.expand` returns to users.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Iterator

from archspec.errors import Location
from archspec.ops import OPS, OpDef, Weight

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx


INPUT = "input"  # the op of the network's input node (keras.Input)
NESTED = "sequential"  # the op of a nested layer (a ``sequential:`` step), emitted as keras.Sequential


@dataclass(slots=True)
class Layer:
    """One layer: what it computes, its place in the spec, and what it costs. What kind of node it is
    (the network input, a nested layer, an op of the registry, a Keras layer or operation) is asked of
    its properties, never of ``op``'s spelling."""

    id: int
    op: str  # an op of the registry, INPUT, or NESTED (a nested layer, see ``members``)
    name: str  # explicit, or a Keras-style auto-name given at the end of expansion
    attrs: dict[str, Any]
    inputs: list[int]
    shape: tuple
    weights: list[Weight]
    loc: Location
    pointer: str
    stage: str
    block: str
    macs: int = 0
    auto_named: bool = False
    # a nested layer (``sequential:``, Keras's nested Sequential): one entry of model.layers that owns its
    # members' weights (see Graph.stored_weights; its own ``weights`` are empty, so sums count each once).
    # Its members are nodes too (shapes, params, MACs, pictures) with ``nested_in`` set, not in model.layers
    members: tuple[int, ...] = ()
    nested_in: int | None = None
    checkpoint: str | None = None  # the checkpoint key whose tensors fill the weights (docs/pytorch.md)

    @property
    def params(self) -> int:
        return sum(w.size for w in self.weights)

    @property
    def is_input(self) -> bool:
        return self.op == INPUT

    @property
    def is_nested(self) -> bool:
        """A nested layer: one Keras layer made of its ``members``."""
        return self.op == NESTED

    @property
    def opdef(self) -> OpDef | None:
        """The op record this node applies; None for the network input and a nested layer."""
        return None if self.op in (INPUT, NESTED) else OPS[self.op]

    @property
    def is_layer(self) -> bool:
        """A Keras layer (in ``model.layers``, or in a nested layer's); false for an op emitted as a Keras
        operation (``x + 3.0``)."""
        return self.opdef is None or self.opdef.layer

    @property
    def auto_prefix(self) -> str:
        """Keras's auto-name prefix: its class in snake_case (``input_layer``, ``sequential``, ``conv2d``)."""
        return "input_layer" if self.is_input else NESTED if self.is_nested else self.opdef.auto_prefix

    @property
    def summary(self) -> str:
        """The few attributes worth a glance in a picture, as the op's record summarises them."""
        return "" if self.opdef is None else self.opdef.describe(self.attrs)

    def as_dict(self) -> dict[str, Any]:
        """The fields (but ``id``) plus ``params`` and ``trainable``: a node's attributes in exports."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "id"}
        out.update(params=self.params, trainable=self.trainable)
        return out

    @property
    def trainable(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)


_LAYER_FIELDS = attrgetter(*(f.name for f in fields(Layer)))  # every field, in constructor order


@dataclass
class Graph:
    """An expanded network."""

    name: str
    file: str
    preprocessing: str
    input_shape: tuple
    layers: list[Layer] = field(default_factory=list)
    input: int = 0
    output: int = 0
    checkpoint: str | None = None  # the checkpoint family the spec maps (top-level `checkpoint:`), if any
    # checkpoint module path -> the build option that takes its tensors (top-level `checkpoint_optional:`)
    optional_keys: dict[str, str] = field(default_factory=dict)
    input_multiple: int | None = None  # the input's height and width must be multiples of it (`input_multiple:`)
    # named outputs (steps with `output: NAME`), in declaration order; empty: the one output is ``output``
    outputs: dict[str, int] = field(default_factory=dict)
    taps: list[int] = field(default_factory=list)  # feature-tap candidates (steps with `tap: true`), in order

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def output_layer(self) -> Layer:
        return self.layers[self.output]

    def output_ids(self) -> list[int]:
        """The model's output nodes in the order Keras flattens them (``model.outputs``): named outputs
        sorted by name, as ``keras.tree`` flattens a dict; else the one output."""
        return [self.outputs[k] for k in sorted(self.outputs)] if self.outputs else [self.output]

    def named_outputs(self) -> dict[str, Layer]:
        """Output name -> its layer, in declaration order (``{}`` for a network with one unnamed output)."""
        return {k: self.layers[v] for k, v in self.outputs.items()}

    def header(self) -> dict[str, Any]:
        """What describes the network as a whole (name, file, preprocessing, input shape)."""
        return {"name": self.name, "file": self.file, "preprocessing": self.preprocessing,
                "input_shape": self.input_shape}

    def weighted(self) -> list[Layer]:
        """The layers with weights that ``model.layers`` lists (a nested layer once, not its members)."""
        return [layer for layer in self.top_level() if self.stored_weights(layer)]

    def top_level(self) -> list[Layer]:
        """The nodes of the Keras model's own graph: all but the members of nested layers."""
        return [layer for layer in self.layers if layer.nested_in is None]

    def stored_weights(self, layer: Layer) -> list[Weight]:
        """The weights a weight file stores for this entry of ``model.layers``, in file order: for a nested
        layer its members' (all trainable ones, then the rest, in member order, as Keras's legacy writer
        saves a nested model's ``trainable_weights + non_trainable_weights``)."""
        if not layer.members:
            return layer.weights
        return [self.layers[m].weights[i] for m, i in self.stored_order(layer)]

    def stored_order(self, layer: Layer) -> list[tuple[int, int]]:
        """(member id, index in its weights) of each weight of a nested layer, in :meth:`stored_weights` order:
        what the readers and writers of weight files use to put per-member values in file order."""
        return [(m, i) for trainable in (True, False) for m in layer.members
                for i, w in enumerate(self.layers[m].weights) if w.trainable == trainable]

    def consumers(self) -> list[list[int]]:
        """For each layer id, the ids of the layers that take it as an input (in creation order)."""
        out: list[list[int]] = [[] for _ in self.layers]
        for layer in self.layers:
            for src in dict.fromkeys(layer.inputs):
                out[src].append(layer.id)
        return out

    def copy(self) -> "Graph":
        """Layers copied one level deep (names are assigned per copy); attrs and weights are shared.
        (Validation copies the stages once per head: one constructor call per layer, not ``replace``'s
        per-field work, which was 6% of ``validate specs``.)"""
        layers = [Layer(*_LAYER_FIELDS(layer)) for layer in self.layers]
        for layer in layers:
            layer.inputs = list(layer.inputs)
        return replace(self, layers=layers, outputs=dict(self.outputs), taps=list(self.taps))

    def to_networkx(self) -> "nx.DiGraph":
        """The public form: integer nodes with the layer fields as attributes, edges with their input ``port``."""
        import networkx as nx

        g = nx.DiGraph()
        g.graph.update(self.header(), input=self.input, output=self.output, outputs=dict(self.outputs))
        for layer in self.layers:
            g.add_node(layer.id, **layer.as_dict())
        for layer in self.layers:
            for port, src in enumerate(layer.inputs):
                g.add_edge(src, layer.id, port=port)
        return g

"""Pretrained weights for an input with another channel count (``--adapt-input-channels``): timm's ``in_chans``
rule (``adapt_input_conv`` in ``timm/models/_manipulate.py``), applied to the layers that read the network input.

The layers are found from the graph, never by name: a weighted layer whose input is the network input, directly
or through layers without weights that keep the channel count (padding, rescaling, an activation). A stored
kernel is adapted when the layer built for the file's channel count would have exactly the stored shapes and
only one axis of one weight differs, the whole input-channel axis, while the outputs stay the same: a
convolution (or a dense layer over the channels). A grouped or depthwise convolution, a normalization or any
other shape difference is not adapted and stays an error.

For ``B`` stored channels and ``C`` wanted: ``C == 1`` sums the ``B`` filters; otherwise they are repeated
``ceil(C / B)`` times, cut to ``C`` and scaled by ``B / C`` (timm's rule with ``base_chans`` the file's count,
3 for RGB weights). Arrays are used through their methods only: this module imports no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from archspec.graph.ir import Graph, Layer
from archspec.ops import OPS, ShapeError, Weight

FLAG = "--adapt-input-channels"
KEYWORD = "adapt_input_channels=True"


@dataclass(frozen=True)
class Adaptation:
    """One stored weight made to fit the model's input channels."""

    weight: int  # index in the layer's weights
    axis: int  # the weight's axis (Keras layout) that holds the input channels
    base: int  # the file's channel count
    channels: int  # the model's

    def stored(self, shape: tuple) -> tuple:
        """The file's shape of the adapted weight, from the model's."""
        return tuple(self.base if i == self.axis else d for i, d in enumerate(shape))

    @property
    def how(self) -> str:
        return "summed" if self.channels == 1 else f"repeated and scaled by {self.base}/{self.channels}"

    def text(self, layer: str, stored: str) -> str:
        return (f"layer '{layer}' takes {stored} adapted from {self.base} to {self.channels} input channel(s) "
                f"({self.how}, timm's in_chans rule)")


def input_readers(graph: Graph) -> dict[int, int]:
    """Weighted layers that read the network input's channels -> that channel count: reached from an input
    through single-input layers without weights that keep the channel count."""
    consumers = graph.consumers()
    found: dict[int, int] = {}
    for start in (layer for layer in graph.layers if layer.is_input):
        channels, todo, seen = start.shape[-1], list(consumers[start.id]), set()
        while todo:
            node = graph.layers[todo.pop()]
            if node.id in seen or node.is_nested:
                continue
            seen.add(node.id)
            if node.weights:
                found[node.id] = channels
            elif len(node.inputs) == 1 and node.shape and node.shape[-1] == channels:
                todo += consumers[node.id]
    return found


def adaptation(graph: Graph, layer: Layer, channels: int, found: list[tuple],
               stored: Callable[[Weight], tuple]) -> Adaptation | str:
    """How the stored shapes ``found`` (one per weight of ``layer``, a reader of ``channels`` input channels
    (:func:`input_readers`), in the file's layout, which ``stored`` gives for a Keras weight) become the layer's
    by timm's rule, or why they cannot."""
    if layer.opdef is None:
        return "it is a nested layer"
    bases = {d for shape in found for d in shape} - {channels}  # the file's count is one of its sizes
    source = graph.layers[layer.inputs[0]].shape
    why = f"the stored shapes are not those of this {layer.op} layer for another input channel count"
    for base in sorted(bases):
        try:
            rebuilt = layer.opdef.weights(layer.attrs, [(*source[:-1], base)])
            output = layer.opdef.shape(layer.attrs, [(*source[:-1], base)])
        except ShapeError:  # the op refuses that count (a grouped convolution's groups do not divide it)
            continue
        if [stored(w) for w in rebuilt] != list(found):
            continue
        axes = [(i, a) for i, (w, r) in enumerate(zip(layer.weights, rebuilt)) for a in range(len(w.shape))
                if w.shape[a] != r.shape[a]]
        if len(axes) != 1 or layer.weights[axes[0][0]].shape[axes[0][1]] != channels or output[-1] != layer.shape[-1]:
            return (f"op '{layer.op}' does not take the input's channels on one kernel axis with its outputs "
                    "unchanged (a grouped or depthwise convolution, a normalization): only a convolution's "
                    "kernel is adapted")
        return Adaptation(axes[0][0], axes[0][1], base, channels)
    return why


def hint(result: Adaptation | str, asked: bool) -> str | None:
    """What a shape mismatch's error adds: the option that adapts it, or why the option did not."""
    if isinstance(result, Adaptation) and not asked:
        return (f"the layer reads the network input's {result.channels} channel(s) and the weights are for "
                f"{result.base}: {FLAG} ({KEYWORD}) adapts them as timm's in_chans does")
    if isinstance(result, str) and asked:
        return f"{FLAG} does not apply: {result}"
    return None


def adapt_array(array: Any, a: Adaptation) -> Any:
    """timm's rule on a numpy array in Keras layout: the ``base`` filters summed (one channel), or repeated
    and cut to ``channels`` (``i % base``) and scaled by ``base / channels``."""
    array = array.astype("float32")
    if a.channels == 1:
        return array.sum(axis=a.axis, keepdims=True)
    return array.take([i % a.base for i in range(a.channels)], axis=a.axis) * (a.base / a.channels)

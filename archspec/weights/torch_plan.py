"""The transfer plan: which checkpoint tensors fill which layers of a graph, computed from shapes alone.

Each weighted layer whose step names a ``checkpoint`` key takes, for every Keras weight, the tensor
``<key>.<name>`` its op record's ``torch`` layout names (``conv1.weight`` -> ``conv1_conv``'s kernel), in the
layout the record gives (``OIHW -> HWIO`` for a convolution). One rule is the graph's, not an op's: a layer
that reads the features of a flatten of an ``(H, W, C)`` map (directly or through dropout, activations,
batch norms) reads them in channels-last order, PyTorch's in channels-first order, so its per-feature rows
are reordered (:func:`flattened_features`). A nested layer
(``sequential:``) has no key of its own: each member names its own (:func:`checkpoint_layers`), and the nested
layer loads as a whole or not at all (:func:`_whole_nested`).

No numpy, Keras or torch here: the plan is what ``check-weights`` prints; :func:`keras_arrays` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from archspec.errors import Diagnostic, Location, SpecError
from archspec.graph.ir import Graph, Layer
from archspec.graph.order import keras_layer_order
from archspec.ops import OPS, fmt_shape
from archspec.ops.base import TORCH_LAYOUTS
from archspec.weights.channels import Adaptation, adapt_array, adaptation, hint, input_readers


@dataclass(frozen=True)
class TensorMap:
    """One Keras weight from one checkpoint tensor."""

    weight: str  # the Keras weight (kernel, gamma, ...)
    tensor: str  # the checkpoint tensor (layer1.0.conv1.weight)
    layout: str  # a TORCH_LAYOUTS key
    shape: tuple  # the Keras weight's shape
    features: tuple | None = None  # (H, W, C) of a flatten whose features this weight takes: reordered
    adapt: Adaptation | None = None  # another input-channel count, adapted (weights/channels.py)


@dataclass(frozen=True)
class TensorMismatch:
    """A checkpoint tensor whose shape is not the one the layer needs."""

    node: int
    tensor: str
    expected: tuple  # the tensor shape the layer needs (PyTorch's layout)
    found: tuple
    hint: str | None = None  # the input-channel option that would adapt it, or why it did not


@dataclass
class TransferPlan:
    """What a checkpoint gives a graph. Lists follow :func:`checkpoint_layers` (``model.layers`` order, a nested
    layer's members in its place), tensors the file's order."""

    family: str
    file: str
    tensors: int  # in the checkpoint
    mapped: list[tuple[int, list[TensorMap]]] = field(default_factory=list)
    unmapped: list[tuple[int, str]] = field(default_factory=list)  # (node, why it gets nothing)
    mismatched: list[TensorMismatch] = field(default_factory=list)
    leftover: list[str] = field(default_factory=list)  # tensors nothing takes
    optional: list[str] = field(default_factory=list)  # tensors a build with an option takes (checkpoint_optional)
    ignored: list[str] = field(default_factory=list)  # tensors Keras has no place for (num_batches_tracked)
    adapted: list[str] = field(default_factory=list)  # what --adapt-input-channels changed, one line each

    @property
    def complete(self) -> bool:
        """Every weighted layer is filled and every tensor used."""
        return not (self.unmapped or self.mismatched or self.leftover)

    def outside_head(self, graph: Graph) -> tuple[list[TensorMismatch], list[int]]:
        """Shape mismatches and unfilled layers outside the head (a new classifier is not a problem)."""
        return ([m for m in self.mismatched if graph.layers[m.node].stage != "head"],
                [n for n, _ in self.unmapped if graph.layers[n].stage != "head"])


def plan_transfer(graph: Graph, shapes: dict[str, tuple], file: str, adapt_channels: bool = False) -> TransferPlan:
    """Pair the graph's weighted layers with a checkpoint's tensors (``shapes``: name -> shape). With
    ``adapt_channels``, the kernel of a layer that reads the network input is adapted to its channel count
    (:mod:`archspec.weights.channels`) instead of being a mismatch."""
    where = Location(file)
    if graph.checkpoint is None:
        raise SpecError(Diagnostic(f"spec '{graph.name}' declares no checkpoint family, so it says nothing about "
                                   "which checkpoint tensor fills which layer", Location(graph.file),
                                   hint="use a spec in the checkpoint's topology that declares one, e.g. "
                                        "'checkpoint: torchvision' (archspec list shows them; docs/pytorch.md)"))
    plan = TransferPlan(graph.checkpoint, file, len(shapes))
    claimed: set[str] = set()
    owner: dict[str, Layer] = {}
    readers = input_readers(graph)
    for nid in checkpoint_layers(graph):
        layer = graph.layers[nid]
        if layer.checkpoint is None:
            plan.unmapped.append((nid, "its step names no checkpoint key"))
            continue
        if layer.checkpoint in owner:
            first = owner[layer.checkpoint]
            raise SpecError(Diagnostic(f"checkpoint key '{layer.checkpoint}' is taken by layer '{layer.name}' and by "
                                       f"layer '{first.name}' (made at {first.loc})", layer.loc, layer.pointer))
        owner[layer.checkpoint] = layer
        rule = OPS[layer.op].torch
        claimed.update(f"{layer.checkpoint}.{name}" for name in rule.ignored)
        maps, missing, before = [], [], len(plan.mismatched)
        features = flattened_features(graph, layer)
        for weight in layer.weights:
            t = next(t for t in rule.tensors if t.keras == weight.name)
            name = f"{layer.checkpoint}.{t.torch}" if t.torch else layer.checkpoint
            expected = TORCH_LAYOUTS[t.layout][0](weight.shape)
            if name not in shapes:
                missing.append(name)
                continue
            claimed.add(name)
            if not _fits(t.layout, tuple(shapes[name]), expected):
                plan.mismatched.append(TensorMismatch(nid, name, expected, tuple(shapes[name])))
            maps.append(TensorMap(weight.name, name, t.layout, weight.shape,
                                  features if _reordered(t.layout, weight.shape, features) else None))
        if not missing and len(plan.mismatched) > before and nid in readers:
            maps = _adapted(plan, graph, layer, readers[nid], maps, shapes, adapt_channels, before)
        if missing:
            plan.unmapped.append((nid, f"the checkpoint has no {', '.join(missing)}"))
        elif len(plan.mismatched) == before:
            plan.mapped.append((nid, maps))
    ignored = {f".{name}" for op in OPS.values() if op.torch for name in op.torch.ignored}
    for name in shapes:
        if name in claimed:
            if any(name.endswith(s) for s in ignored):
                plan.ignored.append(name)
        elif _optional_key(graph, name) is not None:
            plan.optional.append(name)
        else:
            plan.leftover.append(name)
    _whole_nested(plan, graph)
    return plan


def _optional_key(graph: Graph, tensor: str) -> str | None:
    """The ``checkpoint_optional`` module path ``tensor`` is under, if any."""
    return next((key for key in graph.optional_keys if tensor.startswith(key + ".")), None)


def optional_text(plan: TransferPlan, graph: Graph) -> str | None:
    """What the checkpoint has for the spec's optional parts that this build leaves out, and the option that
    takes it: ``not used by this build: 12 tensor(s) of aux1, aux2 (vars.aux_logits: true)``."""
    if not plan.optional:
        return None
    keys = list(dict.fromkeys(_optional_key(graph, name) for name in plan.optional))
    options = list(dict.fromkeys(graph.optional_keys[key] for key in keys))  # type: ignore[index]
    return (f"not used by this build: {len(plan.optional)} tensor(s) of {names_text(keys)} "  # type: ignore[arg-type]
            f"({'; '.join(options)})")


def _adapted(plan: TransferPlan, graph: Graph, layer: Layer, channels: int, maps: list[TensorMap],
             shapes: dict[str, tuple], asked: bool, before: int) -> list[TensorMap]:
    """A reader of the network input whose tensors mismatch: with ``asked`` and timm's rule applying, its maps
    adapt the kernel and its mismatches are dropped; otherwise they say what the option would do (or why not)."""
    layouts = {m.weight: m.layout for m in maps}
    result = adaptation(graph, layer, channels, [tuple(shapes[m.tensor]) for m in maps],
                        lambda w: TORCH_LAYOUTS[layouts[w.name]][0](w.shape))
    if asked and isinstance(result, Adaptation):
        del plan.mismatched[before:]
        m = maps[result.weight]
        plan.adapted.append(result.text(layer.name, f"'{m.tensor}'"))
        return [replace(m, adapt=result) if i == result.weight else m for i, m in enumerate(maps)]
    note = hint(result, asked)
    plan.mismatched[before:] = [replace(m, hint=note) for m in plan.mismatched[before:]]
    return maps


def _fits(layout: str, actual: tuple, expected: tuple) -> bool:
    """The tensor has the layout's shape; a per-channel column may also come flat, ``(C,)`` for ``(C, 1, 1)``
    (timm keeps ConvNeXt's layer scale so, torchvision as a column): the same numbers, converted by a reshape."""
    return actual == expected or (layout == "channel_column" and actual == expected[:1])


def checkpoint_layers(graph: Graph) -> list[int]:
    """The layers a checkpoint fills, in ``model.layers`` order: each entry with weights, a nested layer's
    weighted members in its place (each member's step names its own key; PyTorch has no module for the
    Sequential that Keras nests them in, or its key is the members' common prefix)."""
    return [n for nid in keras_layer_order(graph) for n in (graph.layers[nid].members or (nid,))
            if graph.layers[n].weights]


def _whole_nested(plan: TransferPlan, graph: Graph) -> None:
    """A nested layer loads as a whole: a legacy ``.h5`` stores its members' weights as one list, and the
    loaders set it all or not at all. So when one of its weighted members is not filled (no tensors, or a shape
    mismatch), the members that were are not loaded either: they move from ``mapped`` to ``unmapped``."""
    filled = {n for n, _ in plan.mapped}
    moved: dict[int, str] = {}
    for layer in graph.layers:
        weighted = [m for m in layer.members if graph.layers[m].weights]
        short = [m for m in weighted if m not in filled]
        if short and len(short) < len(weighted):
            why = (f"it is a member of nested layer '{layer.name}', which loads as a whole, and member "
                   f"'{graph.layers[short[0]].name}' is not filled")
            moved.update((m, why) for m in weighted if m in filled)
    if moved:
        rank = {n: i for i, n in enumerate(checkpoint_layers(graph))}
        plan.mapped = [(n, maps) for n, maps in plan.mapped if n not in moved]
        plan.unmapped = sorted(plan.unmapped + list(moved.items()), key=lambda item: rank[item[0]])


def flattened_features(graph: Graph, layer: Layer) -> tuple | None:
    """``(H, W, C)`` when ``layer`` reads, as its input features, a flatten of an ``H x W x C`` map with
    ``H * W > 1``: Keras flattens channels-last (``h, w, c``), PyTorch channels-first (``c, h, w``), so the
    checkpoint's rows for those features must be reordered. The features are followed back through every layer
    that keeps each feature in its place (a single-input layer other than a dense whose output shape is its
    input's: dropout, an activation, a batch norm), as torchvision's ``Flatten -> Dropout -> Linear`` has them.
    ``None`` when the features come from a dense layer or a global pool (the orders agree). A flattened map
    that reaches the layer any other way (a concatenation, a reshape) is refused at the layer's spec line: the
    order of the checkpoint's rows for it is not known."""
    if not layer.inputs or len(graph.layers[layer.inputs[0]].shape) != 1:
        return None
    node = graph.layers[layer.inputs[0]]
    while node.op not in ("flatten", "dense") and len(node.inputs) == 1 \
            and tuple(node.shape) == tuple(graph.layers[node.inputs[0]].shape):
        node = graph.layers[node.inputs[0]]
    if node.op == "flatten":
        shape = graph.layers[node.inputs[0]].shape
        return tuple(shape) if len(shape) == 3 and shape[0] * shape[1] > 1 else None
    found = _flatten_behind(graph, node)
    if found is not None:
        raise SpecError(Diagnostic(f"layer '{layer.name}' reads the features of flatten '{found.name}' through "
                                   f"layer '{node.name}' ({node.op}), which moves them: the order of a PyTorch "
                                   "checkpoint's rows for them is not known", layer.loc, layer.pointer,
                                   hint="keep only dropout, activations or batch norms between a flatten and "
                                        "the layers that take its features"))
    return None


def _flatten_behind(graph: Graph, node: Layer) -> Layer | None:
    """A flatten of a map with ``H * W > 1`` whose features reach ``node`` without passing a dense layer."""
    seen, todo = set(), [node]
    while todo:
        node = todo.pop()
        if node.id in seen or node.op == "dense" or len(node.shape) != 1:
            continue
        seen.add(node.id)
        if node.op == "flatten":
            shape = graph.layers[node.inputs[0]].shape
            if len(shape) == 3 and shape[0] * shape[1] > 1:
                return node
            continue
        todo += [graph.layers[i] for i in node.inputs]
    return None


def _reordered(layout: str, shape: tuple, features: tuple | None) -> bool:
    """Whether a weight holds one row or value per input feature: a dense kernel's rows, or a per-feature
    vector (a batch norm's) as long as the flattened map."""
    if features is None:
        return False
    return layout == "dense" or (len(shape) == 1 and shape[0] == features[0] * features[1] * features[2])


def keras_arrays(plan: TransferPlan, checkpoint: Any) -> Iterator[tuple[int, list[Any]]]:
    """For each mapped layer, its Keras weights (in the layer's weight order) as float32 numpy arrays."""
    for nid, maps in plan.mapped:
        yield nid, [keras_array(m, checkpoint.array(m.tensor)) for m in maps]


def keras_array(m: TensorMap, array: Any) -> Any:
    """One tensor in its Keras layout: the op's axis rule, after the flatten reorder of its feature axis."""
    if m.features is not None:
        h, w, c = m.features
        rows = array.shape[0] if array.ndim == 2 else 1
        array = array.reshape(rows, c, h, w).transpose(0, 2, 3, 1).reshape(array.shape)
    if m.adapt is None:
        return TORCH_LAYOUTS[m.layout][1](array, m.shape).astype("float32", copy=False)
    return adapt_array(TORCH_LAYOUTS[m.layout][1](array, m.adapt.stored(m.shape)), m.adapt)


def problems(plan: TransferPlan, graph: Graph, allow_partial: bool = False) -> list[Diagnostic]:
    """What stops a transfer, each at the spec line that made the layer: a shape mismatch outside the head,
    a layer outside the head that gets nothing (unless ``allow_partial``), a tensor of a mapped module that
    no weight takes (the spec's layer lacks a bias, say), or nothing mapped at all. A new classifier (the
    head's mismatches) and tensors of modules the spec does not have (a top without ``--no-top``) are not
    problems: :func:`skipped` says what they leave out."""
    out: list[Diagnostic] = []
    where = Location(plan.file)
    mismatched, unmapped = plan.outside_head(graph)
    if mismatched:
        m, layer = mismatched[0], graph.layers[mismatched[0].node]
        more = f" ({len(mismatched) - 1} more)" if len(mismatched) > 1 else ""
        out.append(Diagnostic(f"layer '{layer.name}' takes '{m.tensor}' as {fmt_shape(m.expected)} but the checkpoint has "
                              f"{fmt_shape(m.found)}{more}", layer.loc, layer.pointer,
                              hint=f"made in block '{layer.block}' of stage '{layer.stage}'; checkpoint {plan.file}"
                                   + (f"; {m.hint}" if m.hint else "")))
    if unmapped and not allow_partial:
        layer = graph.layers[unmapped[0]]
        why = dict(plan.unmapped)[unmapped[0]]
        more = f" ({len(unmapped) - 1} more layer(s))" if len(unmapped) > 1 else ""
        out.append(Diagnostic(f"layer '{layer.name}' gets nothing from the checkpoint: {why}{more}", layer.loc,
                              layer.pointer, hint="--allow-partial loads the rest"))
    keys = {graph.layers[n].checkpoint for n, _ in plan.mapped + plan.unmapped} | {
        graph.layers[m.node].checkpoint for m in plan.mismatched}
    orphans = [name for name in plan.leftover if name.rpartition(".")[0] in keys]
    if orphans:
        out.append(Diagnostic(f"{len(orphans)} tensor(s) of mapped modules have no place in the spec's layers: "
                              f"{names_text(orphans)}", where,
                              hint="the spec's topology differs from the checkpoint's (a bias the layer lacks?)"))
    if not plan.mapped:
        out.append(Diagnostic(f"no layer of '{graph.name}' takes a tensor of this checkpoint", where,
                              hint=f"is it a {plan.family} checkpoint of this network?"))
    return out


def skipped(plan: TransferPlan, graph: Graph) -> str | None:
    """What a transfer that has no :func:`problems` adapts (the input channels) or leaves out, or None."""
    parts = plan.adapted + left_out(plan, graph)
    if not parts:
        return None
    return f"{plan.file}: loaded {len(plan.mapped)} layers with weights; " + "; ".join(parts)


def left_out(plan: TransferPlan, graph: Graph) -> list[str]:
    """What a transfer leaves out: the layers that keep their initial weights (head layers), unused tensors."""
    parts = []
    keep = list(dict.fromkeys([graph.layers[m.node].name for m in plan.mismatched]
                              + [graph.layers[n].name for n, _ in plan.unmapped]))
    if keep:
        parts.append(f"{len(keep)} layer(s) keep their initial weights (shapes differ from the checkpoint's, e.g. "
                     f"new classes, or no tensors): {names_text(keep)}")
    unused = plan.leftover + [m.tensor for m in plan.mismatched]
    if unused:
        parts.append(f"checkpoint tensor(s) not used: {names_text(unused)}")
    optional = optional_text(plan, graph)
    return parts + [optional] if optional else parts


def convert(graph: Graph, checkpoint: Any, out: str | Path, allow_partial: bool = False,
            adapt_channels: bool = False) -> TransferPlan:
    """Plan the transfer, refuse it with every problem, else write the Keras weights of the mapped layers to
    ``out`` (``.weights.h5``: Keras 3 layout, other ``.h5``: legacy layout)."""
    from archspec.weights.h5write import write_weights

    plan = plan_transfer(graph, checkpoint.shapes, checkpoint.path, adapt_channels)
    found = problems(plan, graph, allow_partial)
    if found:
        raise SpecError(found)
    write_weights(out, graph, dict(keras_arrays(plan, checkpoint)))
    return plan


def names_text(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")

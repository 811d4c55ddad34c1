"""Rearranging channels without weights: a slice of the channels, and the channel shuffle.

A split into several parts (ShuffleNetV2's ``x.chunk(2, dim=1)``, YOLO's C2f) is one ``channel_slice`` per part,
each reading the same value (``in:``) and bound with ``as``. Both are Keras operations (``x[..., a:b]`` and
``take``), not layers: in the functional graph, not in ``model.layers``, as when the reference indexes a tensor.
"""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, fmt_shape, spatial

_FILL = "#fce5cd"


def _slice_shape(a: dict, s: list[Shape]) -> Shape:
    c = s[0][-1]
    stop = c if a["stop"] is None else a["stop"]
    if not a["start"] < stop <= c:
        raise ShapeError(f"channel_slice [{a['start']}:{stop}] needs 0 <= start < stop <= {c} channels of "
                         f"{fmt_shape(s[0])}")
    return (*s[0][:-1], stop - a["start"])


def _slice(K, a: dict, n: str):
    """``x[..., start:stop]``: the Keras ``GetItem`` operation, on the channel axis of the data format."""
    def apply(x):
        key = [slice(None)] * len(x.shape)
        key[K.channel_axis] = slice(a["start"], a["stop"])
        return K.GetItem(name=n)(x, tuple(key))

    return apply


def shuffle_order(channels: int, groups: int) -> list[int]:
    """PyTorch's channel_shuffle (``view(b, g, c/g, h, w).transpose(1, 2)``): output j reads input
    ``(j % g) * (c / g) + j // g``."""
    per = channels // groups
    return [(j % groups) * per + j // groups for j in range(channels)]


def _shuffle_shape(a: dict, s: list[Shape]) -> Shape:
    c = spatial(s[0], "channel_shuffle")[2]
    if c % a["groups"]:
        raise ShapeError(f"channel_shuffle with groups={a['groups']} needs channels divisible by it, got {c}")
    return s[0]


def _shuffle(K, a: dict, n: str):
    """The Keras ``Take`` operation with the shuffled channel order."""
    def apply(x):
        return K.Take(axis=K.channel_axis, name=n)(x, shuffle_order(int(x.shape[K.channel_axis]), a["groups"]))

    return apply


OPS = [
    OpDef("channel_slice", "GetItem",
          "Channels start..stop-1 of the input (`x[:, start:stop]` in PyTorch); one per part of a split.",
          "{op: channel_slice, start: 0, stop: 2}",
          {"start": Attr("int", 0, doc="first channel taken (0-based)", minimum=0),
           "stop": Attr("int", None, nullable=True, minimum=1, doc="one past the last channel taken (null: all)")},
          _slice_shape, _slice, fill=_FILL, layer=False,
          summary=lambda a: f"[{a['start']}:{'' if a['stop'] is None else a['stop']}]"),
    OpDef("channel_shuffle", "Take",
          "Channel shuffle of ShuffleNet: `groups` interleaved, as PyTorch's view-transpose-reshape.",
          "{op: channel_shuffle, groups: 2}",
          {"groups": Attr("int", required=True, doc="number of groups interleaved", minimum=1)},
          _shuffle_shape, _shuffle, fill=_FILL, layer=False, summary=lambda a: f"shuffle {a['groups']}"),
]

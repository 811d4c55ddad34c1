"""An op plug-in: PReLU with one learned slope per channel, as the ops of archspec/ops/ are written.

Load it with ``--plugin examples/plugins/channel_prelu.py`` (or its module name when it is importable, or an
``archspec.ops`` entry point of your package). docs/plugins.md walks through each part of the record.
"""

from archspec.ops import Attr, OpDef, Weight
from archspec.ops.base import spatial


def _shape(attrs, shapes):
    return spatial(shapes[0], "channel_prelu")  # a feature map in, the same shape out


def _weights(attrs, shapes):
    return [Weight("alpha", (1, 1, shapes[0][-1]), initializer="alpha_initializer")]


def _macs(attrs, shapes, out):
    h, w, c = out
    return 0 if h is None or w is None else h * w * c  # one multiply per negative value, counted for all


def _keras(K, attrs, name):  # K: keras.layers (with K.channel_axis, as the built-in records use)
    spatial_axes = [1, 2] if K.channel_axis == -1 else [2, 3]
    return K.PReLU(shared_axes=spatial_axes, name=name,
                   alpha_initializer={"class_name": "Constant", "config": {"value": attrs["init"]}})


OPS = [
    OpDef(
        name="channel_prelu",
        keras_class="PReLU",
        doc="parametric ReLU: max(x, 0) + alpha * min(x, 0), one learned alpha per channel",
        example="{op: channel_prelu, init: 0.25}",
        attrs={"init": Attr("float", 0.25, minimum=0.0, doc="initial slope for negative inputs")},
        shape=_shape,
        weights=_weights,
        macs=_macs,
        keras=_keras,
        fill="#fde0dd",
    ),
]

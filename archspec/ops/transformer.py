"""Layer normalization, layer scale and stochastic depth: the per-position ops of ConvNeXt-style blocks.

``layer_scale`` and ``stochastic_depth`` are the classes keras.applications defines next to ConvNeXt
(``keras.src.applications.convnext``); the backend names them in ``_APPLICATION_LAYERS`` so saved models
load without archspec.
"""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, TorchLayout, TorchTensor, Weight, same_shape
from archspec.ops.norm import affine_weights

_FILL = "#eeeeee"


def _layer_scale_shape(a: dict, s: list[Shape]) -> Shape:
    if s[0][-1] != a["projection_dim"]:
        raise ShapeError(f"layer_scale projection_dim {a['projection_dim']} must equal the input's last axis, "
                         f"{s[0][-1]}")
    return s[0]


OPS = [
    OpDef("layer_norm", "LayerNormalization",
          "Layer normalization over the last axis (each position's channels), with a learned scale and offset.",
          "{op: layer_norm, epsilon: 1e-6}",
          {"epsilon": Attr("float", 1e-3, doc="variance epsilon", minimum=0),
           "scale": Attr("bool", True, doc="learn gamma"),
           "center": Attr("bool", True, doc="learn beta")},
          same_shape,
          lambda K, a, n: K.LayerNormalization(axis=-1, epsilon=a["epsilon"], scale=a["scale"], center=a["center"],
                                               name=n),
          affine_weights, fill=_FILL, summary=lambda a: f"eps {a['epsilon']:g}",
          # nn.LayerNorm over the channels (torchvision's ConvNeXt applies it channels-last, as Keras does)
          torch=TorchLayout((TorchTensor("gamma", "weight"), TorchTensor("beta", "bias")))),
    OpDef("layer_scale", "LayerScale",
          "x * gamma, a learned per-channel scale starting at init_values (keras.applications' ConvNeXt layer).",
          "{op: layer_scale, init_values: 1e-6, projection_dim: in_channels}",
          {"init_values": Attr("float", required=True, doc="initial value of every scale"),
           "projection_dim": Attr("int", required=True, minimum=1,
                                  doc="number of scales: the input's last axis (the reference's constructor takes it)")},
          _layer_scale_shape,
          lambda K, a, n: K.LayerScale(a["init_values"], a["projection_dim"], name=n),
          lambda a, s: [Weight("gamma", (a["projection_dim"],))], fill=_FILL,
          summary=lambda a: f"init {a['init_values']:g}",
          # torchvision's ConvNeXt holds it as a parameter of the block, (C, 1, 1): the key names the tensor
          torch=TorchLayout((TorchTensor("gamma", "", "channel_column"),))),
    OpDef("stochastic_depth", "StochasticDepth",
          "Drops the whole residual branch per batch while training (identity at inference); keras.applications' "
          "ConvNeXt layer.",
          "{op: stochastic_depth, drop_path_rate: 0.1}",
          {"drop_path_rate": Attr("float", required=True, minimum=0, maximum=1,
                                  doc="probability of dropping the branch while training")},
          same_shape, lambda K, a, n: K.StochasticDepth(a["drop_path_rate"], name=n), fill=_FILL,
          summary=lambda a: f"rate {a['drop_path_rate']:g}"),
]

"""Normalization."""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, TorchLayout, TorchTensor, Weight, same_shape


def _bn_weights(a: dict, s: list[Shape]) -> list[Weight]:
    c = (s[0][-1],)
    learned = [Weight("gamma", c, initializer="gamma_initializer")] if a["scale"] else []
    learned += [Weight("beta", c, initializer="beta_initializer")] if a["center"] else []
    return learned + [Weight("moving_mean", c, False, "moving_mean_initializer"),
                      Weight("moving_variance", c, False, "moving_variance_initializer")]


OPS = [
    OpDef(
        "batch_norm", "BatchNormalization", "Batch normalization over the channel axis.",
        "{op: batch_norm, epsilon: 1.001e-5}",
        {
            "epsilon": Attr("float", 1e-3, doc="variance epsilon", minimum=0),
            "momentum": Attr("float", 0.99, doc="moving-average momentum", minimum=0, maximum=1),
            "scale": Attr("bool", True, doc="learn gamma"),
            "center": Attr("bool", True, doc="learn beta"),
        },
        same_shape,
        lambda K, a, n: K.BatchNormalization(axis=K.channel_axis, epsilon=a["epsilon"], momentum=a["momentum"],
                                             scale=a["scale"], center=a["center"], name=n),
        _bn_weights, fill="#eeeeee",
        torch=TorchLayout((TorchTensor("gamma", "weight"), TorchTensor("beta", "bias"),
                           TorchTensor("moving_mean", "running_mean"), TorchTensor("moving_variance", "running_var")),
                          ignored=("num_batches_tracked",)),
    ),
]

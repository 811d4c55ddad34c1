"""Normalization."""

from __future__ import annotations

from archspec.ops.base import Attr, OpDef, Shape, ShapeError, TorchLayout, TorchTensor, Weight, fmt_shape, same_shape


def _bn_weights(a: dict, s: list[Shape]) -> list[Weight]:
    c = (s[0][-1],)
    learned = [Weight("gamma", c, initializer="gamma_initializer")] if a["scale"] else []
    learned += [Weight("beta", c, initializer="beta_initializer")] if a["center"] else []
    return learned + [Weight("moving_mean", c, False, "moving_mean_initializer"),
                      Weight("moving_variance", c, False, "moving_variance_initializer")]


def affine_weights(a: dict, s: list[Shape]) -> list[Weight]:
    """A per-channel scale and offset when ``scale``/``center`` (layer and group normalization)."""
    c = (s[0][-1],)
    learned = [Weight("gamma", c, initializer="gamma_initializer")] if a["scale"] else []
    return learned + ([Weight("beta", c, initializer="beta_initializer")] if a["center"] else [])


def _group_norm_shape(a: dict, s: list[Shape]) -> Shape:
    if s[0][-1] % a["groups"]:
        raise ShapeError(f"group_norm's {a['groups']} groups must divide the input's channels, "
                         f"{fmt_shape(s[0])}")
    return s[0]


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
    OpDef(
        "group_norm", "GroupNormalization",
        "Group normalization: each image's channels in groups, normalized over the group's channels and H x W "
        "(PyTorch's nn.GroupNorm), with a learned per-channel scale and offset.",
        "{op: group_norm, groups: 4, epsilon: 1.0e-5}",
        {
            "groups": Attr("int", 32, doc="number of groups; must divide the channels", minimum=1),
            "epsilon": Attr("float", 1e-3, doc="variance epsilon (nn.GroupNorm's is 1e-5)", minimum=0),
            "scale": Attr("bool", True, doc="learn gamma"),
            "center": Attr("bool", True, doc="learn beta"),
        },
        _group_norm_shape,
        lambda K, a, n: K.GroupNormalization(groups=a["groups"], axis=K.channel_axis, epsilon=a["epsilon"],
                                             scale=a["scale"], center=a["center"], name=n),
        affine_weights, fill="#eeeeee", summary=lambda a: f"{a['groups']} groups",
        torch=TorchLayout((TorchTensor("gamma", "weight"), TorchTensor("beta", "bias"))),
    ),
]

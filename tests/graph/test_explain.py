"""What a failing shape rule is about, as graph/explain.py works it out by nudging sizes and attributes.

The expected axes and attributes follow from the ops' definitions (a concatenation joins channels, a
'same' convolution of stride 1 keeps its input's size whatever its kernel), not from the code under test.
The end-to-end behaviour (the library line named in a diagnostic) is in tests/lang/invalid/library_*.
"""

from __future__ import annotations

from archspec.graph.explain import failing_axes, relevant_attrs
from archspec.ops import OPS, ShapeError

CONV = {"filters": 8, "kernel_size": 3, "strides": 1, "padding": "valid", "dilation_rate": 1, "groups": 1,
        "use_bias": True, "activation": None}


def _spatial(attrs: dict, shape: tuple = (32, 32, 3)) -> list[str]:
    """The attributes of a conv2d on ``shape`` that set its output's height and width."""
    conv = OPS["conv2d"]
    base = conv.shape(attrs, [shape])[:2]

    def resized(nudged: dict) -> bool:
        try:
            return conv.shape(nudged, [shape])[:2] != base
        except ShapeError:  # a group count that does not divide the channels
            return False
    return sorted({key for key, _ in relevant_attrs(conv, attrs, resized)})


def test_a_concatenation_is_about_the_axes_that_must_agree_not_its_channels() -> None:
    assert failing_axes(OPS["concat"], {}, [(28, 28, 64), (29, 29, 128), (28, 28, 32)]) == (0, 1)


def test_a_channel_shuffle_is_about_the_channels() -> None:
    assert failing_axes(OPS["channel_shuffle"], {"groups": 2}, [(28, 28, 91)]) == (2,)


def test_a_kernel_larger_than_both_sides_is_about_both() -> None:
    attrs = {**CONV, "kernel_size": 3}
    assert failing_axes(OPS["conv2d"], attrs, [(2, 2, 64)]) == (0, 1)


def test_a_noise_shape_that_does_not_broadcast_is_about_no_axis() -> None:
    assert failing_axes(OPS["dropout"], {"rate": 0.1, "noise_shape": [None, 1, 1, 7]}, [(56, 56, 32)]) == ()


def test_the_attributes_that_set_a_convolutions_size() -> None:
    assert _spatial(CONV) == ["dilation_rate", "kernel_size", "padding", "strides"]  # not filters, not groups
    assert _spatial({**CONV, "padding": "same"}) == ["padding", "strides"]  # 'same' keeps the size at stride 1
    # a stride far too large gives size 1 whatever the kernel; it is named though one more changes nothing
    assert _spatial({**CONV, "strides": 100000000}) == ["strides"]

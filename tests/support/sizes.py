"""Small test inputs that a bundled spec accepts, read from the spec (its `min_input` and `input_multiple`)."""

from __future__ import annotations

import archspec


def accepted_size(spec: str, size: int) -> tuple[int, int, int]:
    """``(s, s, 3)``: ``size`` rounded down to the spec's ``input_multiple`` (U-Nets, pyramids, YOLO: 75 -> 64),
    or up where that is below its ``min_input`` or zero."""
    data = archspec.load_spec(spec).data
    multiple, minimum = data.get("input_multiple") or 1, data.get("min_input") or 1
    s = size - size % multiple
    if s < max(minimum, 1):
        s = -(-max(minimum, size) // multiple) * multiple
    return (s, s, 3)

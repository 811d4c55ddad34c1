"""The cropping op's shape rule: Keras's Cropping2D arithmetic, open sizes, and the crop that leaves nothing.

Why: NASNet's adjust block pads one row/column at the bottom/right and crops one at the top/left
(a one-pixel shift); a wrong rule would put every later shape off by one. The expected shapes come from
keras.layers.Cropping2D itself.
"""

from __future__ import annotations

import keras
import pytest

import archspec
from archspec.errors import SpecError


def _spec(tmp_path, size, cropping) -> str:
    path = tmp_path / "crop.yaml"
    path.write_text(f"""archspec: 1
name: crop
input: [{size[0]}, {size[1]}, 3]
stages:
  s:
    body:
      - {{op: cropping, cropping: {cropping}, name: crop}}
""", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("size, cropping, keras_cropping", [
    ((7, 9), "[[1, 0], [2, 3]]", ((1, 0), (2, 3))),
    ((7, 9), "[1, 2]", ((1, 1), (2, 2))),
    ((7, 9), "3", ((3, 3), (3, 3))),
    (("null", "null"), "[[1, 0], [1, 0]]", ((1, 0), (1, 0))),
])
def test_shape_is_keras_cropping2d(tmp_path, size, cropping, keras_cropping):
    graph = archspec.expand(_spec(tmp_path, size, cropping))
    h, w = (None if d == "null" else d for d in size)
    expected = keras.layers.Cropping2D(keras_cropping).compute_output_shape((1, h, w, 3))[1:]
    assert graph.nodes[graph.graph["output"]]["shape"] == tuple(expected)


@pytest.mark.parametrize("cropping, message", [
    ("[[4, 3], [0, 0]]", "cropping 7 from a height of 7 leaves nothing"),
    ("[[0, 0], [5, 4]]", "cropping 9 from a width of 9 leaves nothing"),
])
def test_a_crop_that_leaves_nothing_is_a_located_error(tmp_path, cropping, message):
    with pytest.raises(SpecError) as err:
        archspec.expand(_spec(tmp_path, (7, 9), cropping))
    diag = err.value.diagnostics[0]
    assert message in diag.message and diag.location.line == 7
    with pytest.raises(ValueError):  # Keras refuses it too
        keras.layers.Cropping2D(((4, 3), (5, 4))).compute_output_shape((1, 7, 9, 3))


def test_negative_cropping_is_refused_by_validate(tmp_path):
    problems = archspec.validate(_spec(tmp_path, (7, 9), "[[-1, 0], [0, 0]]"))
    assert any("at least 0" in d.message for d in problems)

"""Keras layers archspec needs beyond the built-ins; registered so ``.keras`` files load back."""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="archspec")
class ScaledAdd(keras.layers.Layer):
    """``x + scale * up`` for inputs ``[x, up]``: the Inception-ResNet residual, without a Lambda."""

    def __init__(self, scale: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs: list) -> Any:
        x, up = inputs
        return x + up * self.scale

    def compute_output_shape(self, input_shape: list) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}

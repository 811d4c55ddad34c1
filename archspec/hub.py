"""keras-hub interop: any archspec backbone as a ``keras_hub.models.Backbone`` (``pip install 'archspec-cnn[hub]'``).

keras-hub's task models take an image encoder with ``pyramid_outputs`` (level name -> tensor), which
``archspec.build(spec, features=...)`` already computes; this class adds the attribute and a config that
names the spec, so a saved ``.keras`` model rebuilds the backbone from the spec and loads its weights from
the file. ``import archspec.hub`` before ``keras.saving.load_model`` registers the class.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import keras_hub

from archspec.api import build


@keras.saving.register_keras_serializable(package="archspec")
class ArchspecBackbone(keras_hub.models.Backbone):
    """The feature taps of ``spec`` (a bundled name or a path) as a keras-hub backbone whose
    ``pyramid_outputs`` are the levels ``features`` names (all the spec declares by default).
    ``weights`` is what ``archspec.build`` takes ("imagenet", a weight file, a PyTorch checkpoint), and
    ``adapt_input_channels=True`` fits RGB weights to an ``image_shape`` with other channels (as in
    ``archspec.build``); neither is part of the config, since a saved model carries its weights."""

    def __init__(self, spec: str, features: Sequence[str] | None = None,
                 image_shape: Sequence[int | None] = (None, None, 3), weights: Any = None,
                 adapt_input_channels: bool = False, **kwargs: Any):
        model = build(spec, features=list(features) if features else True, input_shape=tuple(image_shape),
                      weights=weights, adapt_input_channels=adapt_input_channels)
        super().__init__(inputs=model.inputs, outputs=model.output, **kwargs)
        self.pyramid_outputs = dict(model.output)
        self.spec = str(spec)
        self.features = list(self.pyramid_outputs)
        self.image_shape = tuple(image_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(spec=self.spec, features=self.features, image_shape=list(self.image_shape))
        return config

"""A small network with every layer class archspec takes from keras.applications (backend/keras_emitters.py
``_APPLICATION_LAYERS``: Inception-ResNet's scaled residual, ConvNeXt's layer scale and stochastic depth) and an
operation that is not a layer (x + 3.0). A saved model names these classes, so the ``.keras`` tests load it in
fresh processes and on other backends."""

APPLICATION_LAYERS_SPEC = """\
archspec: 1
name: application_layers
input: [8, 8, 3]
stages:
  s:
    body:
      - {op: conv2d, filters: 8, kernel_size: 3, padding: same, as: a}
      - {op: layer_scale, init_values: 0.5, projection_dim: 8}
      - {op: stochastic_depth, drop_path_rate: 0.1}
      - {op: scaled_add, in: [a, prev], scale: 0.17}
      - {op: add_scalar, value: 3.0}
"""

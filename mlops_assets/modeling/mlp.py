"""The built-in model (no ``train.model``): a multilayer perceptron of ``train.hidden_layers``.

A builder like any other (``modeling.builder``): it gets the spec, returns an uncompiled model.
"""

from mlops_assets.modeling.builder import ModelSpec


def build(spec: ModelSpec):
    import keras

    x = spec.inputs
    for units in spec.args["hidden_layers"]:
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(spec.output_units, activation=spec.output_activation)(x)
    return keras.Model(spec.inputs, outputs, name="mlp")

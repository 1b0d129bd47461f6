"""The saved model's front: raw columns in, one numeric tensor out.

One ``keras.Input`` per column (numbers as float32, text as strings; a missing value is NaN or
an empty string), each filled with its training value (``FillMissing``), then ``Normalization``
for numbers and ``StringLookup`` / ``IntegerLookup`` one-hot for categories, with one
out-of-vocabulary bucket for a category training never saw. Normalisation and vocabularies are
fitted with ``adapt`` on the training split only. The two small layers defined here are
registered with Keras, so ``keras.saving.load_model`` finds them once this module is imported
(``keras_model.load_model`` does that).

Importing this module imports TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mlops_assets.modeling.tensorflow_import import import_tensorflow
from mlops_assets.records import CATEGORICAL, Column

if TYPE_CHECKING:
    import pandas as pd

tf = import_tensorflow()
import keras  # noqa: E402 - after import_tensorflow(), which quiets TensorFlow's C++ notices


@keras.saving.register_keras_serializable(package="mlops_assets")
class FillMissing(keras.layers.Layer):
    """Missing cells (NaN, or an empty string) become ``fill_value``; ``output_dtype`` casts
    the result (integer codes for ``IntegerLookup``)."""

    def __init__(self, fill_value, output_dtype: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.fill_value = fill_value
        self.output_dtype = output_dtype

    def call(self, inputs):
        if inputs.dtype == tf.string:
            return tf.where(tf.equal(tf.strings.strip(inputs), ""), str(self.fill_value), inputs)
        values = keras.ops.cast(inputs, "float32")
        filled = keras.ops.where(keras.ops.isnan(values), float(self.fill_value), values)
        return keras.ops.cast(filled, self.output_dtype) if self.output_dtype else filled

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "fill_value": self.fill_value,
            "output_dtype": self.output_dtype,
        }


@keras.saving.register_keras_serializable(package="mlops_assets")
class MissingIndicator(keras.layers.Layer):
    """1.0 where the number is missing (NaN), else 0.0: lets the model learn from the gap."""

    def call(self, inputs):
        return keras.ops.cast(keras.ops.isnan(keras.ops.cast(inputs, "float32")), "float32")

    def compute_output_shape(self, input_shape):
        return input_shape


INPUT_DTYPES = {"float": "float32", "integer": "float32", "string": "string"}


def input_name(column: str) -> str:
    """The model input of ``column``: its name, with characters Keras refuses in a name
    (``/``, spaces...) as ``_``."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in column)


def _column_values(frame: pd.DataFrame, name: str, dtype: str) -> np.ndarray:
    """One column as the model input takes it: float32 (NaN missing) or text ("" missing)."""
    values = frame[name]
    if dtype == "string":
        text = values.astype(object)
        return np.asarray(text.where(text.notna(), "").astype(str), dtype=object).reshape(-1, 1)
    return np.asarray(values.astype("float64"), dtype=np.float32).reshape(-1, 1)


def raw_inputs(model, rows) -> dict:
    """``rows`` (a DataFrame, or a mapping of column -> values) as the dict ``model`` takes,
    each value typed as its input expects (text as a string tensor: ``model.predict`` refuses
    numpy object arrays). Extra columns are ignored; a missing one is named."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        frame = rows
    else:
        frame = pd.DataFrame({k: np.asarray(v, dtype=object).reshape(-1) for k, v in rows.items()})
    by_input = {input_name(str(c)): c for c in frame.columns}
    inputs = {}
    for tensor in model.inputs:
        name = tensor.name
        if name not in by_input:
            needed = ", ".join(t.name for t in model.inputs)
            raise KeyError(f"the model needs column '{name}' (its inputs: {needed})")
        dtype = "string" if "string" in str(tensor.dtype) else "float"
        values = _column_values(frame, by_input[name], dtype)
        inputs[name] = tf.constant(values.astype(str)) if dtype == "string" else values
    return inputs


def column_inputs(frame: pd.DataFrame, columns: list[Column]) -> dict[str, np.ndarray]:
    """``frame``'s columns as the model's inputs take them, by input name."""
    return {
        input_name(c.name): _column_values(frame, c.name, INPUT_DTYPES[c.dtype]) for c in columns
    }


def example_inputs(frame: pd.DataFrame, columns: list[Column]) -> dict[str, np.ndarray]:
    """A few rows as numpy input arrays (text as ``str``): the logged model's signature."""
    inputs = column_inputs(frame, columns)
    return {k: v.astype(str) if v.dtype == object else v for k, v in inputs.items()}


def _encoder(column: Column, name: str, train: np.ndarray):
    """The lookup or normalisation of one column, adapted on its (filled) training values."""
    if column.kind == CATEGORICAL and column.dtype == "string":
        layer = keras.layers.StringLookup(
            num_oov_indices=1, output_mode="one_hot", name=f"lookup_{name}"
        )
    elif column.kind == CATEGORICAL:
        layer = keras.layers.IntegerLookup(
            num_oov_indices=1, output_mode="one_hot", name=f"lookup_{name}"
        )
    else:
        layer = keras.layers.Normalization(axis=-1, name=f"normalize_{name}")
    layer.adapt(train)
    return layer


def _filled(column: Column, values: np.ndarray) -> np.ndarray:
    if column.dtype == "string":
        return np.where(np.char.strip(values.astype(str)) == "", str(column.fill), values)
    filled = np.where(np.isnan(values), np.float32(column.fill), values)
    return filled.astype(np.int64) if column.dtype == "integer" else filled


def preprocessing(columns: list[Column], x_train: pd.DataFrame):
    """``(inputs, encoded)``: a dict of one ``keras.Input`` per column, and the concatenated
    numeric tensor the network reads, its layers fitted on ``x_train`` (the training split)."""
    inputs, parts = {}, []
    for column in columns:
        dtype, name = INPUT_DTYPES[column.dtype], input_name(column.name)
        tensor = keras.Input(shape=(1,), dtype=dtype, name=name)
        inputs[name] = tensor
        values = _column_values(x_train, column.name, dtype)
        output_dtype = "int64" if column.dtype == "integer" else None
        filled = FillMissing(column.fill, output_dtype, name=f"fill_{name}")(tensor)
        parts.append(_encoder(column, name, _filled(column, values))(filled))
        if column.missing_indicator:
            parts.append(MissingIndicator(name=f"missing_{name}")(tensor))
    encoded = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="encoded")(parts)
    return inputs, encoded

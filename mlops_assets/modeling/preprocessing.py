"""The saved model's front: raw columns in, one numeric tensor out.

One ``keras.Input`` per column (numbers as float32, text as strings; a missing value is NaN or
an empty string), each filled with its training value, then ``Normalization`` for numbers and
``StringLookup`` / ``IntegerLookup`` one-hot for categories, with one out-of-vocabulary bucket
for a category training never saw. Normalisation and vocabularies are fitted with ``adapt`` on
the training split only.

The front is built from built-in layers and ``keras.ops`` calls on the symbolic tensors only, so
``model.keras`` loads with plain ``keras.saving.load_model`` where this package cannot be
imported (a serving process, another project). ``FillMissing`` and ``MissingIndicator`` stay
registered here only so that models saved before that still load through
``keras_model.load_model`` (which imports this module); no new model uses them.

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
    """Older models only (see the module docstring). Missing cells (NaN, or an empty string)
    become ``fill_value``; ``output_dtype`` casts the result (integer codes for
    ``IntegerLookup``)."""

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
    """Older models only (see the module docstring). 1.0 where the number is missing (NaN),
    else 0.0: lets the model learn from the gap."""

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
    """One column as the model input takes it: float32 (NaN missing) or text ("" missing; a
    blank cell is missing too, made "" here as the model's graph has no string strip)."""
    values = frame[name]
    if dtype == "string":
        text = values.astype(object)
        text = text.where(text.notna(), "").astype(str)
        text = text.where(text.str.strip() != "", "")
        return np.asarray(text, dtype=object).reshape(-1, 1)
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


def _string_one_hot(column: Column, name: str, train: np.ndarray, tensor):
    """A string column one-hot, the gap ("") counted as the fill value, in built-in layers.

    There is no ``keras.ops`` string replace, so the lookup's vocabulary also holds "" (after
    the training values, so their one-hot positions are unchanged), and its index becomes the
    fill value's before ``CategoryEncoding``: index 0 is the out-of-vocabulary bucket.
    """
    adapted = keras.layers.StringLookup(num_oov_indices=1)
    adapted.adapt(train)
    vocabulary = [str(token) for token in adapted.get_vocabulary()[1:]]
    lookup = keras.layers.StringLookup(
        num_oov_indices=1,
        vocabulary=[*vocabulary, ""],
        output_mode="int",
        name=f"lookup_{name}",
    )
    fill = str(column.fill)
    fill_index = vocabulary.index(fill) + 1 if fill in vocabulary else 0
    index = lookup(tensor)
    index = keras.ops.where(keras.ops.equal(index, len(vocabulary) + 1), fill_index, index)
    return keras.layers.CategoryEncoding(
        num_tokens=len(vocabulary) + 1, output_mode="one_hot", name=f"one_hot_{name}"
    )(index)


def _encoder(column: Column, name: str, train: np.ndarray):
    """The lookup or normalisation of a number column, adapted on its (filled) training values."""
    if column.kind == CATEGORICAL:
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
    numeric tensor the network reads, its layers fitted on ``x_train`` (the training split).
    Built-in layers and ``keras.ops`` only: the saved model needs no class of ours."""
    ops = keras.ops
    inputs, parts = {}, []
    for column in columns:
        dtype, name = INPUT_DTYPES[column.dtype], input_name(column.name)
        tensor = keras.Input(shape=(1,), dtype=dtype, name=name)
        inputs[name] = tensor
        train = _filled(column, _column_values(x_train, column.name, dtype))
        if column.dtype == "string":
            parts.append(_string_one_hot(column, name, train, tensor))
            continue
        filled = ops.where(ops.isnan(tensor), float(column.fill), tensor)
        if column.dtype == "integer":
            filled = ops.cast(filled, "int64")
        parts.append(_encoder(column, name, train)(filled))
        if column.missing_indicator:
            parts.append(ops.cast(ops.isnan(tensor), "float32"))
    encoded = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="encoded")(parts)
    return inputs, encoded

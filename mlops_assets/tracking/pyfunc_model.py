"""The registered MLflow model's code: raw CSV columns in, one prediction per row out.

MLflow saves this file with the model ("models from code": ``python_model=<this file>``) and
runs it wherever the model is loaded: ``mlflow.pyfunc.load_model``, ``mlflow models serve``, a
notebook. Those places do not have this package, so this file imports only mlflow, numpy,
pandas and Keras (TensorFlow, Keras' backend, for text columns), never ``mlops_assets``. A class
pickled from the package would not do: cloudpickle saves it by reference to the package.

The model's artifacts are ``model.keras`` and, for classification, ``labels.json``, whose
labels tell the task (none: regression; two: binary; more: multiclass). Not ``model_config``:
MLflow would log it as run params, beside the run's own. What ``predict`` returns, one entry
per row:

- ``regression``: the predicted value;
- ``binary_classification``: the positive class's probability (the second label of
  ``labels.json``);
- ``multiclass_classification``: the most probable label, as in ``labels.json``.

A row's cells are taken as the training CSV had them: text as text, numbers as numbers, a gap as
null/NaN (or ``""`` in text), a category training never saw goes to the out-of-vocabulary
bucket. Columns the model does not use are ignored; a missing one fails naming it.
``preprocessing.raw_inputs`` makes the same inputs inside the package (the tests hold the two
to the same predictions).
"""

import json

import mlflow
import numpy as np
import pandas as pd

MODEL = "model"  # the artifacts' keys
LABELS = "labels"
BATCH_SIZE = 4096


def input_name(column: str) -> str:
    """The model input of ``column``: its name, with characters Keras refuses in a name as ``_``
    (as ``preprocessing.input_name``)."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in column)


def column_values(values: pd.Series, text: bool) -> np.ndarray:
    """One column as its model input takes it: text ("" for a gap or a blank) or float32 (NaN
    for a gap), one row each."""
    if text:
        cells = values.astype(object)
        cells = cells.where(cells.notna(), "").astype(str)
        cells = cells.where(cells.str.strip() != "", "")
        return np.asarray(cells, dtype=object).reshape(-1, 1)
    try:
        return np.asarray(values.astype("float64"), dtype=np.float32).reshape(-1, 1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"column '{values.name}' must hold numbers: {error}") from None


def model_inputs(model, rows: pd.DataFrame) -> dict:
    """``rows`` as the dict of named inputs ``model`` (the Keras model) takes."""
    by_input = {input_name(str(c)): c for c in rows.columns}
    missing = [t.name for t in model.inputs if t.name not in by_input]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(repr(m) for m in missing)}: the model needs "
            f"{', '.join(t.name for t in model.inputs)}"
        )
    inputs = {}
    for tensor in model.inputs:
        text = "string" in str(tensor.dtype)
        values = column_values(rows[by_input[tensor.name]], text)
        if text:  # Keras' predict refuses numpy object arrays; string tensors are TensorFlow's
            import tensorflow as tf

            inputs[tensor.name] = tf.constant(values.astype(str))
        else:
            inputs[tensor.name] = values
    return inputs


def predictions(task: str, scores: np.ndarray, labels: list | None) -> np.ndarray:
    """The model's output as the documented prediction per row (see the module docstring)."""
    scores = np.asarray(scores, dtype=np.float64)
    if task == "multiclass_classification":
        return np.asarray([labels[i] for i in scores.argmax(axis=1)])
    return scores.reshape(len(scores), -1)[:, 0]


def task_of(labels: list | None) -> str:
    """The task the training labels tell: none, regression; two, binary; more, multiclass."""
    if labels is None:
        return "regression"
    return "binary_classification" if len(labels) == 2 else "multiclass_classification"


class RawColumnsModel(mlflow.pyfunc.PythonModel):
    """The Keras model behind ``mlflow.pyfunc``: a DataFrame of raw columns in."""

    def load_context(self, context):
        import keras

        self.model = keras.saving.load_model(context.artifacts[MODEL])
        self.labels = None
        if LABELS in context.artifacts:
            with open(context.artifacts[LABELS], encoding="utf-8") as file:
                self.labels = json.load(file)
        self.task = task_of(self.labels)

    def predict(self, context, model_input: pd.DataFrame, params=None):
        rows = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        scores = self.model.predict(
            model_inputs(self.model, rows), batch_size=BATCH_SIZE, verbose=0
        )
        return predictions(self.task, scores, self.labels)


mlflow.models.set_model(RawColumnsModel())

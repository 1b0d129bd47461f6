"""The Keras model: built, trained seeded, and saved atomically.

TensorFlow is imported inside the functions (quietly, see ``tensorflow_import``) so that
loading the Dagster code location stays light.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlops_assets.artifacts.atomic import write_atomic
from mlops_assets.modeling.tensorflow_import import import_tensorflow, quiet_tensorflow
from mlops_assets.params import TrainParams
from mlops_assets.records import FeatureSet
from mlops_assets.stop_request import stoppable

EpochLogger = Callable[[int, dict[str, float]], None]


@dataclass
class TrainingResult:
    model: object  # keras.Model; typed loosely so this module imports without TensorFlow
    history: dict[str, list[float]] = field(default_factory=dict)


OUTPUTS = {
    "regression": (lambda classes: 1, "linear"),
    "binary_classification": (lambda classes: 1, "sigmoid"),
    "multiclass_classification": (lambda classes: len(classes), "softmax"),
}


def _loss_and_metrics(task: str):
    import keras

    if task == "binary_classification":
        return "binary_crossentropy", [keras.metrics.AUC(name="auc"), "accuracy"]
    if task == "multiclass_classification":
        return "sparse_categorical_crossentropy", ["accuracy"]
    return "mse", ["mae"]


def _is_linear(model) -> bool:
    import keras

    activation = getattr(model.layers[-1], "activation", None) if model.layers else None
    return activation is keras.activations.linear


def build_model(
    features: FeatureSet,
    hp: TrainParams,
    project: Path | None = None,
    compile_options: dict | None = None,
):
    """The whole model: raw columns in (``preprocessing``), the builder's network
    (``train.model``, or the built-in MLP), and the task's head; compiled
    (``compile_options``: more ``Model.compile`` arguments, such as ``steps_per_execution``;
    bench/training.py compares them).

    For regression the output is rescaled by the training target's mean and spread, so the
    network learns a standardised target yet the saved model predicts in the target's units.
    A builder that fails, returns no Keras model or the wrong output shape raises
    ``ModelBuilderError`` naming ``train.model``, before any training.
    """
    import_tensorflow()
    import keras

    from mlops_assets.modeling.builder import (
        BUILT_IN,
        ModelBuilderError,
        ModelSpec,
        call_builder,
        resolve,
    )
    from mlops_assets.modeling.preprocessing import preprocessing
    from mlops_assets.settings import project_dir

    reference = hp.model or BUILT_IN
    builder = resolve(hp.model, project or project_dir())
    inputs, encoded = preprocessing(features.columns, features.x_train)
    units, activation = OUTPUTS[features.task]
    spec = ModelSpec(
        inputs=keras.Input(shape=(int(encoded.shape[-1]),), name="encoded_features"),
        input_width=int(encoded.shape[-1]),
        task=features.task,
        output_units=units(features.classes),
        output_activation=activation,
        args=dict(hp.model_args) if hp.model else {"hidden_layers": hp.hidden_layers},
        seed=features.seed,
    )
    network = call_builder(builder, spec, reference)
    try:
        x = network(encoded)
    except Exception as exc:
        raise ModelBuilderError(
            f"train.model {reference!r}: the model does not take the preprocessed features "
            f"(shape (None, {spec.input_width})): {type(exc).__name__}: {exc}"
        ) from exc
    if tuple(x.shape[1:]) != (spec.output_units,):
        raise ModelBuilderError(
            f"train.model {reference!r}: the model outputs shape {tuple(x.shape)}; "
            f"{features.task} needs (None, {spec.output_units})"
        )
    compiled = bool(getattr(network, "compiled", False))
    if features.task == "regression":
        scale = float(np.std(features.y_train)) or 1.0
        offset = float(np.mean(features.y_train))
        x = keras.layers.Rescaling(scale=scale, offset=offset, name="prediction")(x)
    elif not compiled and _is_linear(network):
        x = keras.layers.Activation(activation, name="probability")(x)
    model = keras.Model(inputs, x, name=f"mlops_assets_{features.task}")
    loss, metrics = _loss_and_metrics(features.task)
    optimizer = keras.optimizers.Adam(learning_rate=hp.learning_rate)
    if compiled:  # the builder's own optimizer and loss
        optimizer, loss = network.optimizer, network.loss or loss
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **(compile_options or {}))
    return model


SHUFFLE_BUFFER = 100_000


def input_pipelines(features: FeatureSet, hp: TrainParams):
    """tf.data pipelines built once for the whole fit.

    Handing ``fit`` numpy arrays makes Keras rebuild its input pipeline and re-slice the
    validation share every epoch, which dominates training on small data (see bench/training.py).
    The validation rows are the last ``validation_fraction`` of the (already shuffled) training
    split, as Keras' own ``validation_split`` takes them.
    """
    tf = import_tensorflow()
    from mlops_assets.modeling.preprocessing import column_inputs

    x = column_inputs(features.x_train, features.columns)
    n_val = int(len(features.y_train) * hp.validation_fraction)
    n_fit = len(features.y_train) - n_val
    x_fit = {name: values[:n_fit] for name, values in x.items()}
    x_val = {name: values[n_fit:] for name, values in x.items()}
    y_fit = features.y_train[:n_fit]
    train = (
        tf.data.Dataset.from_tensor_slices((x_fit, y_fit))
        .shuffle(min(n_fit, SHUFFLE_BUFFER), seed=features.seed, reshuffle_each_iteration=True)
        .batch(hp.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    if not n_val:
        return train, None
    validation = (
        tf.data.Dataset.from_tensor_slices((x_val, features.y_train[n_fit:]))
        .batch(max(hp.batch_size, 1024))
        .cache()
    )
    return train, validation


def train_model(
    features: FeatureSet,
    hp: TrainParams,
    on_epoch: EpochLogger | None = None,
    project: Path | None = None,
    compile_options: dict | None = None,
) -> TrainingResult:
    """Fit seeded, so the same inputs give the same metrics; ``on_epoch`` reports progress.
    ``project`` is where ``train.model``'s module is looked up first (the project directory)."""
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(features.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(features, hp, project, compile_options)
    train, validation = input_pipelines(features, hp)

    callbacks: list = []
    if hp.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation is not None else "loss",
                patience=hp.early_stopping_patience,
                restore_best_weights=True,
            )
        )
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, dict(logs or {}))
            )
        )
    with stoppable() as stop:
        checkpoint = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: stop.stop_if_requested(model),
            on_epoch_end=lambda epoch, logs: stop.stop_if_requested(model),
        )
        history = model.fit(
            train,
            epochs=hp.epochs,
            validation_data=validation,
            callbacks=[*callbacks, checkpoint],
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=0,
        )
    curves = {name: [float(v) for v in values] for name, values in history.history.items()}
    return TrainingResult(model=model, history=curves)


def save_model(model, path: Path) -> Path:
    """Write ``path`` atomically: a crash mid-save never leaves a half-written model there."""
    return write_atomic(path, model.save)


def load_model(path: Path):
    """The saved model. New ones need only Keras; models saved before the front was built-in
    layers need the custom ones registered first."""
    import_tensorflow()
    import keras

    import mlops_assets.modeling.preprocessing  # noqa: F401  (older models: FillMissing...)

    with quiet_tensorflow():
        return keras.saving.load_model(path)


def predict(model, rows, batch_size: int = 4096) -> np.ndarray:
    """Predictions for ``rows`` (a DataFrame or a mapping of raw columns): a flat float array
    (values, or the positive class's probability), or one row of class probabilities each for
    multiclass."""
    from mlops_assets.modeling.preprocessing import raw_inputs

    with quiet_tensorflow():
        predictions = model.predict(raw_inputs(model, rows), batch_size=batch_size, verbose=0)
    predictions = np.asarray(predictions, dtype=np.float64)
    return predictions.ravel() if predictions.shape[-1] == 1 else predictions


def label_index(scores: np.ndarray) -> np.ndarray:
    """Each row's class, as an index into the labels: the most probable one, or for binary
    (the positive class's probability) the positive one from 0.5."""
    return scores.argmax(axis=1) if scores.ndim == 2 else (scores >= 0.5).astype(int)


def predict_labels(model, rows, classes: list) -> list:
    """Predictions as the original labels (``TrainedModel.classes``, ``labels.json``)."""
    return [classes[i] for i in label_index(predict(model, rows))]

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

EpochLogger = Callable[[int, dict[str, float]], None]


@dataclass
class TrainingResult:
    model: object  # keras.Model; typed loosely so this module imports without TensorFlow
    history: dict[str, list[float]] = field(default_factory=dict)


def build_model(features: FeatureSet, hp: TrainParams):
    """An MLP that takes raw features: normalisation (training statistics) is its first layer.

    For regression the output is rescaled by the training target's mean and spread, so the
    network learns a standardised target yet the saved model predicts in the target's units.
    """
    import_tensorflow()
    import keras

    inputs = keras.Input(shape=(len(features.feature_names),), name="features")
    x = keras.layers.Normalization(mean=features.mean, variance=features.variance)(inputs)
    for units in hp.hidden_layers:
        x = keras.layers.Dense(units, activation="relu")(x)
    if features.task == "binary_classification":
        outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
        loss, metrics = "binary_crossentropy", [keras.metrics.AUC(name="auc"), "accuracy"]
    else:
        scale = float(np.std(features.y_train)) or 1.0
        offset = float(np.mean(features.y_train))
        x = keras.layers.Dense(1)(x)
        outputs = keras.layers.Rescaling(scale=scale, offset=offset, name="prediction")(x)
        loss, metrics = "mse", ["mae"]
    model = keras.Model(inputs, outputs, name=f"mlops_assets_{features.task}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hp.learning_rate), loss=loss, metrics=metrics
    )
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

    n_val = int(len(features.y_train) * hp.validation_fraction)
    n_fit = len(features.y_train) - n_val
    x_fit, y_fit = features.x_train[:n_fit], features.y_train[:n_fit]
    train = (
        tf.data.Dataset.from_tensor_slices((x_fit, y_fit))
        .shuffle(min(n_fit, SHUFFLE_BUFFER), seed=features.seed, reshuffle_each_iteration=True)
        .batch(hp.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    if not n_val:
        return train, None
    validation = (
        tf.data.Dataset.from_tensor_slices((features.x_train[n_fit:], features.y_train[n_fit:]))
        .batch(max(hp.batch_size, 1024))
        .cache()
    )
    return train, validation


def train_model(
    features: FeatureSet, hp: TrainParams, on_epoch: EpochLogger | None = None
) -> TrainingResult:
    """Fit seeded, so the same inputs give the same metrics; ``on_epoch`` reports progress."""
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(features.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(features, hp)
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
    history = model.fit(
        train,
        epochs=hp.epochs,
        validation_data=validation,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles, seeded
        verbose=0,
    )
    curves = {name: [float(v) for v in values] for name, values in history.history.items()}
    return TrainingResult(model=model, history=curves)


def save_model(model, path: Path) -> Path:
    """Write ``path`` atomically: a crash mid-save never leaves a half-written model there."""
    return write_atomic(path, model.save)


def load_model(path: Path):
    import_tensorflow()
    import keras

    with quiet_tensorflow():
        return keras.saving.load_model(path)


def predict(model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Predictions as a flat float array (probabilities for classification)."""
    with quiet_tensorflow():
        predictions = model.predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(predictions, dtype=np.float64).ravel()

"""Held-out metrics per task, with the direction in which each one is better, and their names.

One vocabulary of metric names everywhere a person reads them (metrics.json, MLflow, the
comment, the model card, the Dagster UI): the split, then the metric. ``test_`` is the held-out
split (``test_mae``, ``test_roc_auc``), ``val_`` the validation share of the training split and
``train_`` the training rows (the per-epoch curves: ``train_loss``, ``val_mae``). Reports from
before it used bare held-out names (``mae``); ``held_out`` reads those as aliases, so an older
champion, run or committed metrics.json still serves as a baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


TEST, VALIDATION, TRAIN = "test_", "val_", "train_"

HEADLINE = {
    "regression": "test_mae",
    "binary_classification": "test_roc_auc",
    "multiclass_classification": "test_macro_f1",
}

# What compute_metrics reports for each task (without the split); the headline is one of them.
TASK_METRICS = {
    "regression": ("mae", "rmse", "r2"),
    "binary_classification": ("roc_auc", "accuracy", "precision", "recall", "f1"),
    "multiclass_classification": ("macro_f1", "accuracy", "log_loss"),
}

# True where a larger value is better; reports use it to tell improvements from regressions.
HIGHER_IS_BETTER = {
    "mae": False,
    "rmse": False,
    "r2": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "macro_f1": True,
    "log_loss": False,
}


def base_name(name: str) -> str:
    """The metric without its split: ``mae`` of ``test_mae``, ``val_mae`` or ``mae``."""
    for split in (TEST, VALIDATION, TRAIN):
        if name.startswith(split):
            return name.removeprefix(split)
    return name


def higher_is_better(name: str) -> bool:
    """A metric's direction, whatever its split; one not in ``HIGHER_IS_BETTER`` counts as a
    score."""
    return HIGHER_IS_BETTER.get(base_name(name), True)


def held_out_name(name: str) -> str:
    """``name`` in the vocabulary: an older bare held-out name (``mae``) as ``test_mae``."""
    return f"{TEST}{name}" if name in HIGHER_IS_BETTER else name


def held_out(metrics: Mapping[str, float]) -> dict[str, float]:
    """``metrics`` under their names in the vocabulary (older bare names read as aliases)."""
    return {held_out_name(name): value for name, value in metrics.items()}


def curve_name(key: str) -> str:
    """A Keras history key as a curve's name: ``val_mae`` stays, ``mae`` is ``train_mae``."""
    return key if key.startswith(VALIDATION) else f"{TRAIN}{key}"


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "r2": float(r2_score(y_true, y_pred)),
    }


def classification_metrics(
    y_true: np.ndarray, y_score: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    y_pred = (y_score >= threshold).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, y_score)),
    }


def multiclass_metrics(y_true: np.ndarray, y_proba: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 (every class weighs the same, however rare) and log loss, from class
    indices and one row of class probabilities per example."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    classes = np.arange(y_proba.shape[1])
    y_pred = y_proba.argmax(axis=1)
    proba = np.clip(y_proba, 1e-15, 1)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)
        ),
        "log_loss": float(
            log_loss(y_true, proba / proba.sum(axis=1, keepdims=True), labels=classes)
        ),
    }


def per_class_metrics(
    y_true: np.ndarray, y_proba: np.ndarray, classes: list
) -> dict[str, dict[str, float]]:
    """Precision and recall of each class, by its original label."""
    from sklearn.metrics import precision_score, recall_score

    y_pred = y_proba.argmax(axis=1)
    index = list(range(len(classes)))
    precision = precision_score(y_true, y_pred, labels=index, average=None, zero_division=0)
    recall = recall_score(y_true, y_pred, labels=index, average=None, zero_division=0)
    return {
        str(label): {"precision": float(p), "recall": float(r)}
        for label, p, r in zip(classes, precision, recall, strict=True)
    }


def compute_metrics(task: str, y_true: np.ndarray, y_out: np.ndarray) -> dict[str, float]:
    """Held-out metrics (``test_*``) for ``task`` from targets and model outputs (values, or
    probabilities)."""
    if task == "binary_classification":
        return held_out(classification_metrics(y_true, y_out))
    if task == "multiclass_classification":
        return held_out(multiclass_metrics(y_true, y_out))
    return held_out(regression_metrics(y_true, y_out))


def naive_metrics(
    task: str, y_train: np.ndarray, y_test: np.ndarray, n_classes: int = 0
) -> dict[str, float]:
    """What a model that ignores the features scores: the training mean, or the majority class
    (multiclass: the majority class, with the training class shares as probabilities)."""
    import numpy as np

    if task == "binary_classification":
        majority = float(np.mean(y_train) >= 0.5)
        return held_out(classification_metrics(y_test, np.full(len(y_test), majority)))
    if task == "multiclass_classification":
        shares = np.bincount(y_train.astype(int), minlength=n_classes) / len(y_train)
        return held_out(multiclass_metrics(y_test, np.tile(shares, (len(y_test), 1))))
    return held_out(regression_metrics(y_test, np.full(len(y_test), float(np.mean(y_train)))))

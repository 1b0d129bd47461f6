"""One trial of a sweep, trained and scored on the validation rows, and the choice among them.

The validation rows are the last ``train.validation_fraction`` of the training split, the rows
Keras' curves are measured on (``keras_model.input_pipelines``); the held-out split is never
read here, so choosing on it cannot flatter the winner (docs/sweeps.md).
"""

import time
from dataclasses import replace
from pathlib import Path

from mlops_assets.modeling.keras_model import EpochLogger
from mlops_assets.params import TrainParams
from mlops_assets.records import FeatureSet, TrialResult
from mlops_assets.report.metrics import higher_is_better


def validation_rows(features: FeatureSet, hp: TrainParams):
    """``(x, y)`` of the validation rows, as ``input_pipelines`` splits them."""
    n_val = int(len(features.y_train) * hp.validation_fraction)
    n_fit = len(features.y_train) - n_val
    return features.x_train.iloc[n_fit:], features.y_train[n_fit:]


def validation_score(model, features: FeatureSet, hp: TrainParams, metric: str) -> float:
    """``metric`` of ``model`` on the validation rows."""
    from mlops_assets.modeling.keras_model import predict
    from mlops_assets.report.metrics import compute_metrics, held_out_name

    x, y = validation_rows(features, hp)
    # compute_metrics names the held-out split's metrics; here its rows are the validation rows
    return float(compute_metrics(features.task, y, predict(model, x))[held_out_name(metric)])


def train_trial(
    features: FeatureSet,
    hp: TrainParams,
    *,
    index: int,
    values: dict,
    seed: int,
    metric: str,
    model_path: Path,
    on_epoch: EpochLogger | None = None,
    project: Path | None = None,
) -> TrialResult:
    """Train with ``hp``, seeded with ``seed``, save the model at ``model_path`` and score it on
    the validation rows."""
    from mlops_assets.modeling.keras_model import save_model, train_model

    started = time.monotonic()
    seeded = replace(features, seed=seed)
    result = train_model(seeded, hp, on_epoch=on_epoch, project=project)
    save_model(result.model, model_path)
    value = validation_score(result.model, features, hp, metric)
    return TrialResult(
        index=index,
        values=values,
        seed=seed,
        metric=metric,
        value=value,
        epochs_run=len(result.history.get("loss", [])),
        seconds=time.monotonic() - started,
        model_path=str(model_path),
        history=result.history,
        hyperparameters=hp.model_dump(),
    )


def choose(trials: list[TrialResult]) -> TrialResult:
    """The best trial on its validation metric; a tie goes to the lower index; a trial whose
    score is not a number never wins unless all are."""
    import math

    if not trials:
        raise ValueError("a sweep with no trials has no winner")
    higher = higher_is_better(trials[0].metric)

    def rank(trial: TrialResult):
        value = trial.value if math.isfinite(trial.value) else None
        key = (-value if higher else value) if value is not None else math.inf
        return (value is None, key, trial.index)

    return min(trials, key=rank)

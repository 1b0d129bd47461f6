"""trained_model: the Keras model fitted on the training split, saved under its run's directory."""

import json
from pathlib import Path

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets import run_tags
from mlops_assets.artifacts.atomic import write_text_atomic
from mlops_assets.artifacts.layout import LABELS_FILE, MODEL_FILE
from mlops_assets.defs.config import TrainConfig
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.defs.reuse import lookup, upstream_fingerprints
from mlops_assets.fingerprints import MODEL_SOURCE
from mlops_assets.modeling.builder import source_hash
from mlops_assets.params import TrainParams, flat
from mlops_assets.records import FeatureSet, TrainedModel
from mlops_assets.report.metrics import curve_name
from mlops_assets.settings import project_dir

PROGRESS_LINES = 10


def epoch_logger(context: AssetExecutionContext, epochs: int):
    """Log about ``PROGRESS_LINES`` progress lines per training, whatever the epoch count."""
    every = max(1, epochs // PROGRESS_LINES)

    def log(epoch: int, logs: dict[str, float]) -> None:
        if epoch % every == 0 or epoch in (1, epochs):
            values = ", ".join(f"{k}={v:.4g}" for k, v in sorted(logs.items()))
            context.log.info(f"epoch {epoch}/{epochs}: {values}")

    return log


def each_epoch(*loggers):
    """One ``on_epoch`` callback that hands every epoch to each of ``loggers``."""

    def log(epoch: int, logs: dict[str, float]) -> None:
        for logger in loggers:
            logger(epoch, logs)

    return log


@asset(code_version="3", group_name="retrain", kinds={"keras", "tensorflow"})
def trained_model(
    context: AssetExecutionContext,
    config: TrainConfig,
    features: FeatureSet,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> Output[TrainedModel]:
    """Trains seeded, logs curves to MLflow in a few batched requests, and writes
    ``model.keras`` atomically into the run's directory (with ``labels.json``, the class labels
    by output index); ``artifacts/latest`` only moves once the report for this model is
    complete. The model's builder (``train.model``, or the built-in MLP) is part of the
    fingerprint by its source: editing it retrains."""
    params = TrainParams(**config.model_dump())
    project = project_dir()
    source = source_hash(params.model, project)  # a bad train.model fails here, first
    reuse = lookup(
        context,
        flat("train", config.model_dump()),
        {**upstream_fingerprints(context), MODEL_SOURCE: source},
        still_valid=lambda model: Path(model.path).is_file(),
    )
    if reuse.found:  # same features, hyperparameters and code: the same seeded model
        return reuse.restore()

    from mlops_assets.modeling.keras_model import save_model, train_model

    # What the model was made with, in the vocabulary of MLflow and the baseline comparison.
    run_params = {**features.params, **flat("train", params.model_dump())}
    with tracking.run(context) as mlf:
        mlf.log_params(run_params)
        mlf.set_tags(
            {run_tags.DATA_HASH: features.data_hash, run_tags.DATA_SOURCE: features.data_source}
        )
        # The model is saved inside the block: if the server went away during the training,
        # the error comes when the block ends, and the model is on disk by then.
        with tracking.epoch_metrics() as curves:
            progress = epoch_logger(context, params.epochs)
            result = train_model(
                features, params, on_epoch=each_epoch(progress, curves), project=project
            )
            run_dir = artifacts.store.run_dir(context.run_id)
            path = save_model(result.model, run_dir / MODEL_FILE)
            if features.classes:
                write_text_atomic(run_dir / LABELS_FILE, json.dumps(features.classes) + "\n")
            context.log.info(f"saved {path}")
        logged_as, model_uri = tracking.log_model(path, features.columns, features.task)
        mlflow_run_id = mlf.active_run().info.run_id

    model = TrainedModel(
        path=str(path),
        history=result.history,
        params=run_params,
        hyperparameters=params.model_dump(),
        classes=features.classes,
        mlflow_run_id=mlflow_run_id,
        mlflow_model_uri=model_uri,
    )
    context.log.info(f"trained {model.epochs_run} epochs")
    final = {k: v[-1] for k, v in result.history.items() if v}
    return reuse.output(
        model,
        metadata={
            "epochs_run": model.epochs_run,
            "epochs_max": params.epochs,
            "model_path": MetadataValue.path(str(path)),
            "model": params.model or "built-in MLP",
            "model_source_sha256": source,
            "mlflow_model": logged_as,
            **{f"final_{curve_name(k)}": float(v) for k, v in final.items()},
        },
    )

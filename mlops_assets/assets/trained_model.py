"""trained_model: the Keras model fitted on the training split, saved under its run's directory."""

from dataclasses import dataclass
from pathlib import Path

from dagster import AssetExecutionContext, DataVersion, MetadataValue, Output, asset

from mlops_assets.data.features import FeatureSet
from mlops_assets.params import TrainConfig
from mlops_assets.resources.artifacts import ArtifactStore
from mlops_assets.resources.tracking import MlflowTracking
from mlops_assets.reuse import lookup, restored_output, reuse_metadata

MODEL_FILE = "model.keras"


@dataclass(frozen=True)
class TrainedModel:
    """Where the saved model is and how training went (the model itself stays a file)."""

    path: str
    history: dict[str, list[float]]
    params: dict

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))


def epoch_logger(context: AssetExecutionContext, epochs: int):
    """Log about twenty progress lines per training, whatever the epoch count."""
    every = max(1, epochs // 20)

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


@asset(code_version="1", group_name="retrain", kinds={"keras", "tensorflow"})
def trained_model(
    context: AssetExecutionContext,
    config: TrainConfig,
    features: FeatureSet,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> Output[TrainedModel]:
    """Trains seeded, logs curves to MLflow in a few batched requests, and writes
    ``model.keras`` atomically into the run's directory; ``artifacts/latest`` only moves once
    the report for this model is complete."""
    print_, reused = lookup(
        context, config.model_dump(), still_valid=lambda model: Path(model.path).is_file()
    )
    if reused:  # same features, hyperparameters and code: the same seeded model
        return restored_output(print_, reused)

    from mlops_assets.modeling.keras_model import save_model, train_model

    with tracking.run(context) as mlf:
        mlf.log_params(
            {**features.params, **{f"train.{k}": v for k, v in config.model_dump().items()}}
        )
        mlf.set_tags({"data_hash": features.data_hash, "data_source": features.data_source})
        with tracking.epoch_metrics() as curves:
            progress = epoch_logger(context, config.epochs)
            result = train_model(features, config, on_epoch=each_epoch(progress, curves))
        path = save_model(result.model, artifacts.run_dir(context.run_id) / MODEL_FILE)
        logged_as = tracking.log_model(result.model, saved_at=path)

    model = TrainedModel(path=str(path), history=result.history, params=config.model_dump())
    final = {k: v[-1] for k, v in result.history.items() if v}
    return Output(
        model,
        data_version=DataVersion(print_),
        metadata={
            **reuse_metadata(print_),
            "epochs_run": model.epochs_run,
            "epochs_max": config.epochs,
            "model_path": MetadataValue.path(str(path)),
            "mlflow_model": logged_as,
            **{f"final_{k}": float(v) for k, v in final.items()},
        },
    )

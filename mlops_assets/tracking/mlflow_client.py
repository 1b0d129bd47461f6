"""Talking to MLflow: credentials scoped to the calls, curves in batches, the model logged the way
the server supports, and the baseline run read back. mlflow is imported inside the functions:
it is too heavy for the code location to load.

Credentials exist only in the process environment, only while tracking calls run; none are in
settings, tags, params, logs or the Dagster event log.
"""

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from mlops_assets import run_tags
from mlops_assets.artifacts.layout import PLOTS_DIR
from mlops_assets.records import Baseline, MetricsReport
from mlops_assets.report.metrics import TEST, curve_name, held_out, held_out_name
from mlops_assets.tracking.epoch_metrics import EpochMetrics, Point
from mlops_assets.tracking.location import TrackingLocation
from mlops_assets.tracking.server import TrackingServerError, check_server, supports_logged_models

MODEL_ARTIFACT_PATH = "model"
DAGSTER_RUN_ID_TAG = "dagster_run_id"  # dagster-mlflow's tag: which Dagster run an MLflow run is
PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"

# The location a ``connected`` block is using: calls nested in it resolve nothing again (the
# block exports MLFLOW_TRACKING_URI, which would otherwise hide that the location is DagsHub).
_active: ContextVar[TrackingLocation | None] = ContextVar("_active", default=None)


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """Set ``overrides`` in ``os.environ`` for the block only (MLflow reads credentials there)."""
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def connected(location: TrackingLocation, check_timeout: float = 10.0) -> Iterator:
    """``location`` with its credentials in effect and (if remote) checked with one quick
    request; inside an enclosing ``connected`` block that one is reused."""
    import mlflow

    if (active := _active.get()) is not None:
        yield active
        return
    hint = location.credential_vars(os.environ)
    # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI: scoped too, so the next step
    # (or test, or subprocess) starts afresh. Artifact downloads (the baseline's predictions, a
    # registered model) print no progress bars into the run log unless a user asks for them.
    scoped = {
        **location.credential_env(os.environ),
        "MLFLOW_TRACKING_URI": location.uri,
        PROGRESS_BAR: os.environ.get(PROGRESS_BAR, "false"),
    }
    with _environment(scoped):
        if location.is_remote:
            check_server(location, os.environ, hint, check_timeout)
        mlflow.set_tracking_uri(location.uri)
        if not location.is_remote and mlflow.get_experiment_by_name(location.experiment) is None:
            # Keep a local store's artifacts beside its database, not in whatever cwd is.
            artifacts = Path(location.uri.removeprefix("sqlite:///")).parent / "mlruns"
            mlflow.create_experiment(location.experiment, artifact_location=artifacts.as_uri())
        token = _active.set(location)
        try:
            yield location
        finally:
            _active.reset(token)


def epoch_metrics(interval: float = 10.0) -> EpochMetrics:
    """An ``on_epoch`` callback that logs the curves to the active run in a few batched
    requests, named by their split (``train_loss``, ``val_mae``); use it as a context manager
    around the training."""
    import mlflow
    from mlflow.entities import Metric

    run_id = mlflow.active_run().info.run_id
    client = mlflow.MlflowClient()
    location = _active.get()

    def send(points: list[Point]) -> None:
        metrics = [Metric(curve_name(p.key), p.value, p.timestamp_ms, p.step) for p in points]
        try:
            client.log_batch(run_id, metrics=metrics)
        except Exception as error:
            where = location.display_uri if location else mlflow.get_tracking_uri()
            raise TrackingServerError(
                f"could not send the training curves to MLflow at {where} ({error})"
            ) from error

    return EpochMetrics(send, interval)


def log_model(
    model, location: TrackingLocation, saved_at: Path, check_timeout: float, example
) -> tuple[str, str]:
    """Log the Keras ``model`` to the active run, the way the server supports: MLflow 3's
    logged model where it exists, else (the 2.x line, DagsHub) an MLflow model directory as
    plain run artifacts. ``example`` (a few input rows) gives the model its signature. Returns
    which, and the model's URI for the registry; on failure names ``saved_at``, the local copy."""
    import mlflow
    from mlflow.models import infer_signature

    from mlops_assets.modeling.keras_model import predict

    signature = infer_signature(example, predict(model, example))

    run = mlflow.active_run()
    native = not location.is_remote or supports_logged_models(
        location, os.environ, run.info.experiment_id, check_timeout
    )
    try:
        if native:
            try:
                info = mlflow.keras.log_model(
                    model,
                    name=MODEL_ARTIFACT_PATH,
                    pip_requirements=_requirements(),
                    signature=signature,
                )
                return "logged model", f"models:/{info.model_id}"
            except mlflow.MlflowException as error:
                if "logged-models" not in str(error):  # the 2.x line, undetected
                    raise
        _log_model_as_artifacts(model, signature)
        return "run artifacts", f"runs:/{run.info.run_id}/{MODEL_ARTIFACT_PATH}"
    except Exception as error:
        raise TrackingServerError(
            f"could not log the model to MLflow at {location.display_uri} ({error}); "
            f"the trained model is saved at {saved_at}"
        ) from error


def report_metrics(
    report: MetricsReport, extra: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The report's numbers as MLflow metrics, under the names metrics.json and the comment
    use: ``test_<metric>`` (what ``find_baseline`` reads back), the headline's interval
    (``test_mae_interval_low``) and, with ``gate.seeds``, its spread across seeds."""
    headline = held_out_name(report.headline)
    metrics = held_out({**report.metrics, **(extra or {})})
    if report.interval is not None:
        metrics[f"{headline}_interval_low"] = report.interval.low
        metrics[f"{headline}_interval_high"] = report.interval.high
    if report.seeds is not None:
        metrics[f"{headline}_seeds_mean"] = report.seeds.mean
        metrics[f"{headline}_seeds_spread"] = report.seeds.spread
    return metrics


def log_report(
    report: MetricsReport, extra_metrics: Mapping[str, float], files: Iterable[Path]
) -> None:
    """The judged ``report`` on the active run: its metrics (``extra_metrics`` too, say per
    class), its plots under ``plots/``, ``files`` (metrics.json, report.md, the predictions a
    later run pairs with) and the gate's verdict as a tag."""
    import mlflow

    mlflow.log_metrics(report_metrics(report, extra_metrics))
    mlflow.log_artifacts(str(Path(report.directory) / PLOTS_DIR), artifact_path="plots")
    for path in files:
        mlflow.log_artifact(str(path))
    mlflow.set_tag(run_tags.GATE, "passed" if report.gate_passed else "failed")


def _search(location: TrackingLocation, filter_string: str) -> list:
    """The experiment's runs that match ``filter_string`` (none without the experiment)."""
    from mlflow import MlflowClient

    client = MlflowClient(location.uri)
    experiment = client.get_experiment_by_name(location.experiment)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], filter_string, max_results=200)


def runs_of_dagster_run(location: TrackingLocation, dagster_run_id: str) -> list:
    """The experiment's MLflow runs (normally one) tagged with ``dagster_run_id``."""
    return _search(location, f"tags.{DAGSTER_RUN_ID_TAG} = '{dagster_run_id}'")


def running_runs(location: TrackingLocation) -> dict[str, str]:
    """MLflow run id by Dagster run id, for the experiment's runs still RUNNING."""
    return {
        run.data.tags[DAGSTER_RUN_ID_TAG]: run.info.run_id
        for run in _search(location, "attributes.status = 'RUNNING'")
        if DAGSTER_RUN_ID_TAG in run.data.tags
    }


def end_run(location: TrackingLocation, run_id: str, status: str, tags: dict) -> None:
    """End MLflow run ``run_id`` with ``status`` (FAILED, KILLED, FINISHED) and ``tags``."""
    from mlflow import MlflowClient

    client = MlflowClient(location.uri)
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    client.set_terminated(run_id, status=status)


def find_baseline(
    location: TrackingLocation, branch: str, exclude_run_id: str | None = None
) -> Baseline | None:
    """The latest FINISHED run on ``branch`` in the experiment that has held-out metrics,
    other than ``exclude_run_id``. None when there is none."""
    from mlflow import MlflowClient

    client = MlflowClient(location.uri)
    experiment = client.get_experiment_by_name(location.experiment)
    if experiment is None:
        return None
    quoted = branch.replace("'", "\\'")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=(
            f"tags.`{run_tags.GIT_BRANCH}` = '{quoted}' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=20,
    )
    for run in runs:
        metrics = {k: v for k, v in run.data.metrics.items() if k.startswith(TEST)}
        if run.info.run_id != exclude_run_id and metrics:
            return Baseline(
                run_id=run.info.run_id,
                metrics=metrics,
                params=dict(run.data.params),
                data_hash=run.data.tags.get(run_tags.DATA_HASH),
                commit=run.data.tags.get(run_tags.GIT_COMMIT),
                url=location.run_url(experiment.experiment_id, run.info.run_id),
                source=f"the latest finished run on '{branch}' in {describe(location)}",
            )
    return None


def download_artifact(
    location: TrackingLocation, run_id: str, path: str, to_dir: Path
) -> Path | None:
    """Run ``run_id``'s artifact ``path`` copied into ``to_dir``; None when the run has no
    such artifact or its store cannot be read (an older run, a pruned artifact root)."""
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    to_dir.mkdir(parents=True, exist_ok=True)
    try:
        downloaded = download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=str(to_dir), tracking_uri=location.uri
        )
    except (MlflowException, OSError):
        return None
    return Path(downloaded)


def describe(location: TrackingLocation) -> str:
    """The store in words, for the report: a server, or the embedded store (kept by CI's cache)."""
    if location.is_remote:
        return f"the MLflow server {location.display_uri}"
    return f"the local MLflow store {Path(location.uri.removeprefix('sqlite:///')).name}"


def _requirements() -> list[str]:
    """Pinned explicitly: MLflow's inference runs a subprocess that imports the model (slow).
    The TensorFlow build installed (``tensorflow`` or ``tensorflow-cpu``, the pyproject extras)
    is the one named, so MLflow finds no mismatch with the environment to warn about."""
    from importlib.metadata import PackageNotFoundError, version

    import keras
    import tensorflow as tf

    build = "tensorflow"
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            if version(name) == tf.__version__:
                build = name
                break
        except PackageNotFoundError:
            continue
    return [f"{build}=={tf.__version__}", f"keras=={keras.__version__}"]


def _log_model_as_artifacts(model, signature) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / MODEL_ARTIFACT_PATH
        mlflow.keras.save_model(
            model, str(directory), pip_requirements=_requirements(), signature=signature
        )
        mlflow.log_artifacts(str(directory), artifact_path=MODEL_ARTIFACT_PATH)

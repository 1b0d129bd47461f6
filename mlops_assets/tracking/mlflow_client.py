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
from mlops_assets.artifacts.layout import LABELS_FILE, PLOTS_DIR
from mlops_assets.modeling.tensorflow_import import quiet_tensorflow
from mlops_assets.records import Baseline, Column, MetricsReport
from mlops_assets.report.metrics import TEST, curve_name, held_out, held_out_name
from mlops_assets.tracking.epoch_metrics import EpochMetrics, Point
from mlops_assets.tracking.location import TrackingLocation
from mlops_assets.tracking.server import TrackingServerError, check_server, supports_logged_models

MODEL_ARTIFACT_PATH = "model"
# The registered model's code, saved with it (never imported here: MLflow runs it when it loads).
PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
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
    location: TrackingLocation,
    saved_at: Path,
    check_timeout: float,
    columns: list[Column],
    task: str,
) -> tuple[str, str]:
    """Log the saved model (``saved_at``, ``model.keras``, with ``labels.json`` beside it for
    classification) to the active run as an MLflow model that stands alone: the code of
    ``pyfunc_model`` with the files as its artifacts, so ``mlflow.pyfunc`` and ``mlflow models
    serve`` predict raw columns without this package. ``columns`` (the features) are its
    signature. Logged the way the server supports: MLflow 3's logged model where
    it exists, else (the 2.x line, DagsHub) an MLflow model directory as plain run artifacts.
    Returns which, and the model's URI for the registry; on failure names ``saved_at``."""
    import mlflow
    from mlflow.models import Model

    options = _pyfunc_options(saved_at, columns, task)
    run = mlflow.active_run()
    native = not location.is_remote or supports_logged_models(
        location, os.environ, run.info.experiment_id, check_timeout
    )
    try:
        if native:
            try:
                with quiet_tensorflow():  # MLflow loads the model to try its input example
                    info = Model.log(
                        artifact_path=None,
                        name=MODEL_ARTIFACT_PATH,
                        flavor=PyfuncWithKeras,
                        flavor_name="pyfunc.ModelFromCode",  # as mlflow.pyfunc.log_model does
                        **options,
                    )
                return "logged model", f"models:/{info.model_id}"
            except mlflow.MlflowException as error:
                if "logged-models" not in str(error):  # the 2.x line, undetected
                    raise
        _log_model_as_artifacts(options)
        return "run artifacts", f"runs:/{run.info.run_id}/{MODEL_ARTIFACT_PATH}"
    except Exception as error:
        raise TrackingServerError(
            f"could not log the model to MLflow at {location.display_uri} ({error}); "
            f"the trained model is saved at {saved_at}"
        ) from error


def model_signature(columns: list[Column]):
    """Every feature column by its name in the CSV, required, of any type: numbers come as
    integers, as floats, or as floats with NaN for a gap, text with nulls; MLflow's typed columns
    would refuse some of these (int64 as double, NaN as long), and ``pyfunc_model`` converts
    them."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec(AnyType(), c.name) for c in columns]))


def input_example(columns: list[Column]):
    """One row of the training fills (medians, most frequent values): what a row looks like in
    MLflow's UI, and nothing the model does not hold already; no training row leaves the
    machine."""
    import pandas as pd

    return pd.DataFrame({c.name: [c.fill] for c in columns})


class PyfuncWithKeras:
    """The flavour module ``Model.log`` saves with: ``pyfunc_model``'s MLflow model, whose
    ``artifacts/model.keras`` is also declared as a Keras flavour, so ``mlflow.keras.load_model``
    loads the same version as the Keras model (as it did before the model stood alone)."""

    @staticmethod
    def save_model(path, mlflow_model=None, **options) -> None:
        import keras
        import mlflow
        from mlflow.models import Model

        mlflow_model = mlflow_model or Model()
        mlflow_model.add_flavor(
            "keras",
            data="artifacts",  # mlflow.keras loads <data>/model.keras
            keras_version=keras.__version__,
            keras_backend=keras.backend.backend(),
            save_exported_model=False,
        )
        mlflow.pyfunc.save_model(path, mlflow_model=mlflow_model, **options)


def _pyfunc_options(saved_at: Path, columns: list[Column], task: str) -> dict:
    """What ``mlflow.pyfunc.log_model`` and ``save_model`` are given (see ``log_model``)."""
    artifacts = {"model": str(saved_at)}  # the keys pyfunc_model reads
    labels = saved_at.with_name(LABELS_FILE)
    if task != "regression" and labels.is_file():
        artifacts["labels"] = str(labels)
    return {
        "python_model": str(PYFUNC_CODE),
        "artifacts": artifacts,
        "signature": model_signature(columns),
        "input_example": input_example(columns),  # MLflow 3 also tries it before logging
        "pip_requirements": _requirements(),
    }


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


def _log_model_as_artifacts(options: dict) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / MODEL_ARTIFACT_PATH
        with quiet_tensorflow():  # MLflow loads the model to try its input example
            PyfuncWithKeras.save_model(str(directory), **options)
        mlflow.log_artifacts(str(directory), artifact_path=MODEL_ARTIFACT_PATH)

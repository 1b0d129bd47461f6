"""MLflow experiment tracking through dagster-mlflow: one Dagster run is one MLflow run.

Every step that tracks joins the MLflow run tagged with its Dagster run id (dagster-mlflow finds or
starts it) and ends it when the step is done: FINISHED on success, FAILED with the asset named
in a tag on error. Whatever subset of the graph runs, and whichever way it was launched, the
MLflow run ends with the status of the last step that ran. mlflow is imported lazily: it is
too heavy for the code location to load.

Where runs go is decided by ``mlops_assets.tracking.target`` (local store, any MLflow server,
DagsHub by environment). A remote server is checked with one quick request before each step
uses it, so a dead server or a wrong password fails in seconds, not after training. Credentials
exist only in the process environment, only while tracking calls run; none are in the resource's
config, tags, params, logs or the Dagster event log.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from types import SimpleNamespace

from dagster import AssetExecutionContext, ConfigurableResource
from pydantic import Field

from mlops_assets.project import project_dir
from mlops_assets.report.baseline import Baseline
from mlops_assets.tracking.epoch_metrics import EpochMetrics, Point
from mlops_assets.tracking.provenance import GIT_BRANCH, GIT_COMMIT, ci_tags, git_tags
from mlops_assets.tracking.server import TrackingServerError, check_server, supports_logged_models
from mlops_assets.tracking.target import TrackingTarget, local_tracking_uri, resolve_target

__all__ = ["FAILED_ASSET_TAG", "MlflowTracking", "TrackingServerError", "local_tracking_uri"]

FAILED_ASSET_TAG = "mlops_assets.failed_asset"
MODEL_ARTIFACT_PATH = "model"
TEST_METRIC_PREFIX = "test_"


# The target a tracking block is using: calls nested in it resolve nothing again (the block
# exports MLFLOW_TRACKING_URI, which would otherwise hide that the target is DagsHub).
_active_target: ContextVar[TrackingTarget | None] = ContextVar("_active_target", default=None)


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


class MlflowTracking(ConfigurableResource):
    """Where runs are tracked. Empty settings fall back to the standard MLflow variables
    (``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``), then to DagsHub when
    ``DAGSHUB_REPO_OWNER``/``DAGSHUB_REPO_NAME``/``DAGSHUB_USER_TOKEN`` are set, then to the
    embedded local store. Never put credentials here: they come from the environment."""

    tracking_uri: str = Field(default="", description="Empty: $MLFLOW_TRACKING_URI, DagsHub, local")
    experiment_name: str = Field(default="", description="Empty: $MLFLOW_EXPERIMENT_NAME")
    dagshub_host: str = Field(
        default="", description="Empty: $DAGSHUB_CLIENT_HOST or https://dagshub.com"
    )
    check_timeout: float = Field(default=10.0, gt=0, description="Seconds for the server check")

    def target(self) -> TrackingTarget:
        return resolve_target(
            os.environ, project_dir(), self.tracking_uri, self.experiment_name, self.dagshub_host
        )

    def resolved_tracking_uri(self) -> str:
        return self.target().uri

    def resolved_experiment_name(self) -> str:
        return self.target().experiment

    @contextmanager
    def _connected(self) -> Iterator[TrackingTarget]:
        """The target, with its credentials in effect and (if remote) checked; inside an
        enclosing ``_connected`` (``baseline()`` within ``run()``) that one is reused."""
        import mlflow

        if (active := _active_target.get()) is not None:
            yield active
            return
        target = self.target()
        hint = target.credential_vars(os.environ)
        # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI: scoped too, so the next
        # step (or test, or subprocess) resolves its target afresh.
        scoped = {**target.credential_env(os.environ), "MLFLOW_TRACKING_URI": target.uri}
        with _environment(scoped):
            if target.is_remote:
                check_server(target, os.environ, hint, self.check_timeout)
            mlflow.set_tracking_uri(target.uri)
            token = _active_target.set(target)
            try:
                yield target
            finally:
                _active_target.reset(token)

    @contextmanager
    def run(self, context: AssetExecutionContext) -> Iterator:
        """The MLflow run of this Dagster run, as dagster-mlflow's ``MlFlow`` handle."""
        import mlflow
        from dagster_mlflow.resources import MlFlow

        with self._connected() as target:
            if not target.is_remote and mlflow.get_experiment_by_name(target.experiment) is None:
                # Keep a local store's artifacts beside its database, not in whatever cwd is.
                artifacts = Path(target.uri.removeprefix("sqlite:///")).parent / "mlruns"
                mlflow.create_experiment(target.experiment, artifact_location=artifacts.as_uri())
            tags = {**git_tags(project_dir(), os.environ), **ci_tags(os.environ)}
            init_context = SimpleNamespace(
                log=context.log,
                run_id=context.run_id,
                dagster_run=context.run,
                resource_config={
                    "experiment_name": target.experiment,
                    "mlflow_tracking_uri": target.uri,
                    "extra_tags": tags,
                },
            )
            handle = MlFlow(init_context)
            try:
                yield handle
            except BaseException:
                with suppress(Exception):  # the step's own error is the one to report
                    mlflow.set_tag(FAILED_ASSET_TAG, context.asset_key.to_user_string())
                mlflow.end_run(status="FAILED")  # also drains MLflow's async queue, if used
                raise
            mlflow.end_run(status="FINISHED")

    def epoch_metrics(self, interval: float = 10.0) -> EpochMetrics:
        """An ``on_epoch`` callback that logs the curves to the active run in a few batched
        requests (see ``tracking/epoch_metrics.py``); use it as a context manager around the
        training. Call it inside ``run()``."""
        import mlflow
        from mlflow.entities import Metric

        run_id = mlflow.active_run().info.run_id
        client = mlflow.MlflowClient()

        def send(points: list[Point]) -> None:
            metrics = [Metric(p.key, p.value, p.timestamp_ms, p.step) for p in points]
            client.log_batch(run_id, metrics=metrics)

        return EpochMetrics(send, interval)

    def log_model(self, model, saved_at: Path) -> str:
        """Log the Keras ``model`` to the active run, the way the server supports: MLflow 3's
        logged model where it exists, else (the 2.x line, DagsHub) an MLflow model directory
        as plain run artifacts. Returns which; on failure names ``saved_at``, the local copy.
        Call it inside ``run()``: that is where the run is active and the credentials set."""
        import mlflow

        target = _active_target.get() or self.target()
        run = mlflow.active_run()
        native = not target.is_remote or supports_logged_models(
            target, os.environ, run.info.experiment_id, self.check_timeout
        )
        try:
            if native:
                try:
                    mlflow.keras.log_model(
                        model, name=MODEL_ARTIFACT_PATH, pip_requirements=_requirements()
                    )
                    return "logged model"
                except mlflow.MlflowException as error:
                    if "logged-models" not in str(error):  # the 2.x line, undetected
                        raise
            _log_model_as_artifacts(model)
            return "run artifacts"
        except Exception as error:
            raise TrackingServerError(
                f"could not log the model to MLflow at {target.display_uri} ({error}); "
                f"the trained model is saved at {saved_at}"
            ) from error

    def run_url(self, experiment_id: str, run_id: str) -> str | None:
        """Where a reviewer opens the run (DagsHub's experiment page on DagsHub)."""
        return self.target().run_url(experiment_id, run_id)

    def baseline(self, branch: str = "main", exclude_run_id: str | None = None) -> Baseline | None:
        """The latest FINISHED run on ``branch`` in this experiment that has held-out metrics,
        other than ``exclude_run_id`` (default: the active run). None when there is none."""
        import mlflow
        from mlflow import MlflowClient

        with self._connected() as target:
            client = MlflowClient(target.uri)
            experiment = client.get_experiment_by_name(target.experiment)
            if experiment is None:
                return None
            active = mlflow.active_run()
            exclude = exclude_run_id or (active.info.run_id if active else None)
            quoted = branch.replace("'", "\\'")
            runs = client.search_runs(
                [experiment.experiment_id],
                filter_string=f"tags.`{GIT_BRANCH}` = '{quoted}' and attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"],
                max_results=20,
            )
            for run in runs:
                metrics = {
                    k.removeprefix(TEST_METRIC_PREFIX): v
                    for k, v in run.data.metrics.items()
                    if k.startswith(TEST_METRIC_PREFIX)
                }
                if run.info.run_id != exclude and metrics:
                    return Baseline(
                        run_id=run.info.run_id,
                        metrics=metrics,
                        params=dict(run.data.params),
                        data_hash=run.data.tags.get("data_hash"),
                        commit=run.data.tags.get(GIT_COMMIT),
                        url=target.run_url(experiment.experiment_id, run.info.run_id),
                    )
        return None


def _requirements() -> list[str]:
    """Pinned explicitly: MLflow's inference runs a subprocess that imports the model (slow)."""
    import keras
    import tensorflow as tf

    return [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]


def _log_model_as_artifacts(model) -> None:
    import tempfile

    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / MODEL_ARTIFACT_PATH
        mlflow.keras.save_model(model, str(directory), pip_requirements=_requirements())
        mlflow.log_artifacts(str(directory), artifact_path=MODEL_ARTIFACT_PATH)

"""MLflow experiment tracking as a Dagster resource: one Dagster run is one MLflow run.

Every step that tracks joins the MLflow run tagged with its Dagster run id (dagster-mlflow finds
or starts it) and ends it when the step is done: FINISHED on success, FAILED with the asset
named in a tag on error. Whatever subset of the graph runs, and whichever way it was launched,
the MLflow run ends with the status of the last step that ran. A step that fails before its
tracking block (loading its inputs) is ended FAILED by the failure hook of ``run_status``, and
the run guard (``run_guard``) ends, at the start of every run, the MLflow runs of Dagster runs
that are over. The MLflow calls themselves live in ``mlops_assets.tracking.mlflow_client``.
"""

import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import SimpleNamespace

from dagster import AssetExecutionContext, BetaWarning, ConfigurableResource, DagsterInstance
from pydantic import Field

from mlops_assets import run_tags, settings
from mlops_assets.defs.run_status import mlflow_status_for
from mlops_assets.git.checkout import git_tags
from mlops_assets.records import Baseline, Column, MetricsReport, ModelVersion, Promotion
from mlops_assets.report.judge import Baselines
from mlops_assets.settings import project_dir
from mlops_assets.tracking import child_runs, mlflow_client, registry
from mlops_assets.tracking.epoch_metrics import EpochMetrics
from mlops_assets.tracking.location import (
    DEFAULT_DAGSHUB_HOST,
    TrackingLocation,
    local_tracking_uri,
    resolve_location,
)
from mlops_assets.tracking.provenance import ci_tags


class MlflowTracking(ConfigurableResource):
    """Where runs are tracked: an MLflow tracking URI (a server, DagsHub, or the embedded
    SQLite store) and an experiment. Never put credentials here: MLflow reads them from the
    environment (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``/``TOKEN``, ``DAGSHUB_USER_TOKEN``)."""

    tracking_uri: str = Field(default="", description="Empty: the project's local mlflow.db")
    experiment_name: str = Field(default="mlops-assets")
    uri_source: str = Field(
        default="the tracking resource's tracking_uri",
        description="Named in errors: the setting to fix when the server is wrong",
    )
    dagshub_owner: str = Field(default="", description="With dagshub_repo: the URI is DagsHub's")
    dagshub_repo: str = Field(default="")
    dagshub_host: str = Field(default=DEFAULT_DAGSHUB_HOST)
    check_timeout: float = Field(default=10.0, gt=0, description="Seconds for the server check")
    registered_model: str = Field(
        default="", description="The Model Registry name of the model; empty: the experiment's"
    )
    champion_branch: str = Field(
        default="main", description="Clean passing runs of this branch move the champion alias"
    )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, experiment_name: str = ""
    ) -> "MlflowTracking":
        """Decided from the standard variables (see ``tracking.location``)."""
        env = os.environ if env is None else env
        location = resolve_location(env, project_dir(env), experiment_name=experiment_name)
        owner, repo = location.dagshub_repo or ("", "")
        return cls(
            registered_model=settings.registered_model(env),
            champion_branch=settings.champion_branch(env),
            tracking_uri=location.uri,
            experiment_name=location.experiment,
            uri_source=location.uri_source,
            dagshub_owner=owner,
            dagshub_repo=repo,
            dagshub_host=location.dagshub_host,
        )

    def location(self) -> TrackingLocation:
        dagshub = (self.dagshub_owner, self.dagshub_repo) if self.dagshub_repo else None
        return TrackingLocation(
            uri=self.tracking_uri or local_tracking_uri(project_dir()),
            experiment=self.experiment_name,
            uri_source=self.uri_source if self.tracking_uri else "the local default",
            dagshub_repo=dagshub,
            dagshub_host=self.dagshub_host.rstrip("/"),
        )

    @contextmanager
    def run(self, context: AssetExecutionContext) -> Iterator:
        """The MLflow run of this Dagster run, as dagster-mlflow's ``MlFlow`` handle."""
        import mlflow

        with mlflow_client.connected(self.location(), self.check_timeout) as location:
            tags = {**git_tags(project_dir(), os.environ), **ci_tags(os.environ)}
            init_context = SimpleNamespace(
                # dagster-mlflow announces the MLflow run at INFO; the run log has no use for it.
                log=SimpleNamespace(info=context.log.debug),
                run_id=context.run_id,
                dagster_run=context.run,
                resource_config={
                    "experiment_name": location.experiment,
                    "mlflow_tracking_uri": location.uri,
                    "extra_tags": tags,
                },
            )
            with warnings.catch_warnings():  # dagster-mlflow is beta; this is our one use of it
                warnings.simplefilter("ignore", BetaWarning)
                from dagster_mlflow.resources import MlFlow

                handle = MlFlow(init_context)
            try:
                yield handle
            except BaseException:
                with suppress(Exception):  # the step's own error is the one to report
                    mlflow.set_tag(run_tags.FAILED_ASSET, context.asset_key.to_user_string())
                    mlflow.end_run(status="FAILED")
                raise
            mlflow.end_run(status="FINISHED")

    def end_finished_runs(self, instance: DagsterInstance, current_run_id: str) -> list[str]:
        """End the MLflow runs still RUNNING whose Dagster runs are over (killed, abandoned,
        or failed while the server was down) with the status their Dagster run ended with.
        Returns a line per run ended. An embedded store not created yet holds no run."""
        location = self.location()
        if location.sqlite_file is not None and not location.sqlite_file.exists():
            return []
        ended = []
        with mlflow_client.connected(location, self.check_timeout) as location:
            running = [
                *mlflow_client.running_runs(location).items(),
                *child_runs.running_children(location),  # a killed sweep's trials
            ]
            for dagster_run_id, mlflow_run_id in running:
                if dagster_run_id == current_run_id:
                    continue
                if (status := mlflow_status_for(instance, dagster_run_id)) is not None:
                    mlflow_client.end_run(location, mlflow_run_id, status, {})
                    ended.append(
                        f"MLflow run {mlflow_run_id} was still RUNNING for Dagster run "
                        f"{dagster_run_id}, which is over: ended it {status}"
                    )
        return ended

    def fail_run(self, dagster_run_id: str, asset: str) -> None:
        """End the MLflow run of ``dagster_run_id`` FAILED with ``asset`` tagged, unless it is
        FAILED already; nothing when the run opened none."""
        with mlflow_client.connected(self.location(), self.check_timeout) as location:
            for run in mlflow_client.runs_of_dagster_run(location, dagster_run_id):
                if run.info.status != "FAILED":
                    tags = {run_tags.FAILED_ASSET: asset}
                    mlflow_client.end_run(location, run.info.run_id, "FAILED", tags)

    @contextmanager
    def child_run(
        self, parent_run_id: str, name: str, params: Mapping[str, str], tags: Mapping[str, str]
    ) -> Iterator[child_runs.ChildRun]:
        """A sweep trial's MLflow run, nested under ``parent_run_id`` (``child_runs``)."""
        with mlflow_client.connected(self.location(), self.check_timeout) as location:
            with child_runs.child_run(location, parent_run_id, name, params, tags) as run:
                yield run

    def epoch_metrics(self, interval: float = 10.0) -> EpochMetrics:
        """Per-epoch curves for the active run, in a few batched requests. Call inside ``run()``."""
        return mlflow_client.epoch_metrics(interval)

    def log_model(self, saved_at: Path, columns: list[Column], task: str) -> tuple[str, str]:
        """Log the saved model to the active run as an MLflow model that stands alone (see
        ``mlflow_client.log_model``). Call it inside ``run()``: that is where the run is active
        and the credentials set."""
        return mlflow_client.log_model(self.location(), saved_at, self.check_timeout, columns, task)

    def log_report(
        self, report: MetricsReport, extra_metrics: Mapping[str, float], files: Iterable[Path]
    ) -> None:
        """Log the judged report to the active run (see ``mlflow_client.log_report``). Call it
        inside ``run()``."""
        mlflow_client.log_report(report, extra_metrics, files)

    def run_url(self, experiment_id: str, run_id: str) -> str | None:
        """Where a reviewer opens the run (DagsHub's experiment page on DagsHub)."""
        return self.location().run_url(experiment_id, run_id)

    def download(self, run_id: str, artifact: str, to_dir: Path) -> Path | None:
        """A tracked run's artifact, copied into ``to_dir`` (None when it has none)."""
        with mlflow_client.connected(self.location(), self.check_timeout) as location:
            return mlflow_client.download_artifact(location, run_id, artifact, to_dir)

    def baseline(self, branch: str = "main", exclude_run_id: str | None = None) -> Baseline | None:
        """The latest finished run on ``branch`` with held-out metrics, other than
        ``exclude_run_id`` (default: the active run)."""
        import mlflow

        with mlflow_client.connected(self.location(), self.check_timeout) as location:
            active = mlflow.active_run()
            exclude = exclude_run_id or (active.info.run_id if active else None)
            return mlflow_client.find_baseline(location, branch, exclude)

    def baselines(self) -> Baselines:
        """Where ``report.judge`` finds a baseline here: the champion, else the latest run."""
        return Baselines(
            champion=self.champion_baseline,
            latest_run=self.baseline,
            download=self.download,
            searched=mlflow_client.describe(self.location()),
        )

    # --- the Model Registry (``tracking.registry``) ---------------------------------------------

    @property
    def model_name(self) -> str:
        return self.registered_model or self.experiment_name

    @contextmanager
    def _registry(self) -> Iterator[TrackingLocation]:
        with mlflow_client.connected(self.location(), self.check_timeout) as location:
            yield location

    def champion(self) -> ModelVersion | None:
        with self._registry() as location:
            return registry.by_alias(location, self.model_name)

    def champion_baseline(self) -> Baseline | None:
        """The champion as the gate's baseline; None without a champion."""
        with self._registry() as location:
            where = mlflow_client.describe(location)
            return registry.champion_baseline(location, self.model_name, where)

    def versions(self) -> list[ModelVersion]:
        with self._registry() as location:
            return registry.versions(location, self.model_name)

    def register(self, record: ModelVersion, model_uri: str, description: str = "") -> ModelVersion:
        with self._registry() as location:
            return registry.register(location, record, model_uri, description)

    def set_alias(self, alias: str, version: str) -> None:
        with self._registry() as location:
            registry.set_alias(location, self.model_name, alias, version)

    def move_champion(self, move: Promotion) -> None:
        """Point ``champion`` at ``move.version`` and keep the move in the ledger."""
        with self._registry() as location:
            registry.set_alias(location, self.model_name, registry.CHAMPION, move.version)
            registry.record_promotion(location, self.model_name, move)

    def ledger(self) -> list[Promotion]:
        with self._registry() as location:
            return registry.ledger(location, self.model_name)

    def download_model(self, version: str, to_dir: Path) -> Path:
        with self._registry() as location:
            return registry.download_model(location, self.model_name, version, to_dir)

    def model_url(self, version: str) -> str | None:
        """The version's page in the MLflow UI (none for the embedded store)."""
        return self.location().model_url(self.model_name, version)

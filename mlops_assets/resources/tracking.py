"""MLflow experiment tracking through dagster-mlflow: one Dagster run is one MLflow run.

Every asset step joins the MLflow run tagged with its Dagster run id (dagster-mlflow finds or
starts it) and ends it when the step is done: FINISHED on success, FAILED with the asset named
in a tag on error. Whatever subset of the graph runs, and whichever way it was launched, the
MLflow run ends with the status of the last step that ran. mlflow is imported lazily: it is
too heavy for the code location to load.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from dagster import AssetExecutionContext, ConfigurableResource
from pydantic import Field

from mlops_assets.project import project_dir

FAILED_ASSET_TAG = "mlops_assets.failed_asset"


def local_tracking_uri(directory: Path) -> str:
    """The embedded store: ``mlflow.db`` in the project, which ``mlflow ui`` opens from there."""
    return f"sqlite:///{directory / 'mlflow.db'}"


class MlflowTracking(ConfigurableResource):
    """Where runs are tracked. Empty settings fall back to the standard MLflow variables
    (``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``), then to the embedded local store."""

    tracking_uri: str = Field(default="", description="Empty: $MLFLOW_TRACKING_URI or local")
    experiment_name: str = Field(default="", description="Empty: $MLFLOW_EXPERIMENT_NAME")

    def resolved_tracking_uri(self) -> str:
        return (
            self.tracking_uri
            or os.environ.get("MLFLOW_TRACKING_URI")
            or local_tracking_uri(project_dir())
        )

    def resolved_experiment_name(self) -> str:
        return self.experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "mlops-assets"

    @contextmanager
    def run(self, context: AssetExecutionContext) -> Iterator:
        """The MLflow run of this Dagster run, as dagster-mlflow's ``MlFlow`` handle."""
        import mlflow
        from dagster_mlflow.resources import MlFlow

        uri = self.resolved_tracking_uri()
        name = self.resolved_experiment_name()
        mlflow.set_tracking_uri(uri)
        if uri.startswith("sqlite:") and mlflow.get_experiment_by_name(name) is None:
            # Keep a local store's artifacts beside its database, not in whatever cwd is.
            artifacts = Path(uri.removeprefix("sqlite:///")).parent / "mlruns"
            mlflow.create_experiment(name, artifact_location=artifacts.as_uri())
        init_context = SimpleNamespace(
            log=context.log,
            run_id=context.run_id,
            dagster_run=context.run,
            resource_config={"experiment_name": name, "mlflow_tracking_uri": uri},
        )
        handle = MlFlow(init_context)
        try:
            yield handle
        except BaseException:
            mlflow.set_tag(FAILED_ASSET_TAG, context.asset_key.to_user_string())
            mlflow.end_run(status="FAILED")
            raise
        mlflow.end_run(status="FINISHED")

"""The code location: the retrain asset graph, its job and its resources.

Nothing here imports TensorFlow or MLflow: the webserver, the daemon and every sensor tick load
this module, so the heavy libraries wait until a step needs them.
"""

import os

from dagster import (
    AssetSelection,
    Definitions,
    FilesystemIOManager,
    define_asset_job,
    in_process_executor,
)

from mlops_assets.assets.features import features
from mlops_assets.assets.metrics_report import metrics_report
from mlops_assets.assets.pr_comment import pr_comment
from mlops_assets.assets.raw_data import raw_data
from mlops_assets.assets.trained_model import trained_model
from mlops_assets.automation import (
    git_changes_sensor,
    github_pull_requests_sensor,
    periodic_retrain,
)
from mlops_assets.checks import ALL_CHECKS
from mlops_assets.project import project_dir
from mlops_assets.resources.artifacts import ArtifactStore
from mlops_assets.resources.dvc import DvcData
from mlops_assets.resources.github import GitHubResource
from mlops_assets.resources.tracking import MlflowTracking

ARTIFACTS_DIR_ENV = "MLOPS_ASSETS_ARTIFACTS_DIR"

retrain_job = define_asset_job(
    "retrain", selection=AssetSelection.all(), description="Data to model to report to PR comment."
)


def artifacts_root() -> str:
    return os.environ.get(ARTIFACTS_DIR_ENV) or str(project_dir() / "artifacts")


defs = Definitions(
    assets=[raw_data, features, trained_model, metrics_report, pr_comment],
    jobs=[retrain_job],
    sensors=[git_changes_sensor, github_pull_requests_sensor],
    schedules=[periodic_retrain],
    resources={
        "artifacts": ArtifactStore(root=artifacts_root()),
        "tracking": MlflowTracking(),
        "github": GitHubResource(),  # GitHub Actions variables; no token: a local file
        "dvc": DvcData(),
        # Intermediate outputs live beside the artifacts, not in a throwaway instance's
        # storage, so `--select one_asset` works in a later CLI run too.
        "io_manager": FilesystemIOManager(base_dir=os.path.join(artifacts_root(), "storage")),
    },
    # One process: the steps share one MLflow run and import TensorFlow once.
    executor=in_process_executor,
    asset_checks=ALL_CHECKS,
)

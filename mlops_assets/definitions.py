"""The code location: the retrain asset graph, its checks, the retrain, rollback and score jobs,
sensors, schedule and resources.

What each resource will talk to is decided here, from ``settings`` (the environment) when the
code location loads. Nothing here imports TensorFlow, MLflow or pandas: the webserver, the
daemon and every sensor tick load this module, so the heavy libraries wait until a step needs
them.
"""

from dagster import Definitions, in_process_executor, multiprocess_executor

from mlops_assets import settings
from mlops_assets.defs.assets import RETRAIN_ASSETS
from mlops_assets.defs.checks import ALL_CHECKS
from mlops_assets.defs.console import compact_console_logger
from mlops_assets.defs.executors import executor_from_env
from mlops_assets.defs.io_manager import RunIsolatedStorage
from mlops_assets.defs.jobs import build_retrain_job
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.dvc import DvcData
from mlops_assets.defs.resources.github import GitHubResource
from mlops_assets.defs.resources.run_guard import RunGuard
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.defs.rollback import rollback_job
from mlops_assets.defs.schedules import build_schedule
from mlops_assets.defs.score import score_job
from mlops_assets.defs.sensors import git_changes_sensor, github_pull_requests_sensor
from mlops_assets.defs.sweep import SWEEP_PLAN, project_held_executor
from mlops_assets.settings import ScheduleSettings

# $MLOPS_ASSETS_PROJECT_DIR, else the nearest directory holding params.yaml from the working
# directory up; each retrain run is tagged with it.
project_dir = settings.project_dir()
artifacts_dir = settings.artifacts_dir()
# MLFLOW_TRACKING_URI, else DagsHub (DAGSHUB_*), else the project's mlflow.db.
tracking = MlflowTracking.from_env()
# One run at a time per project (MLOPS_ASSETS_LOCK_WAIT: how long the next one waits); killed
# runs marked failed, in Dagster and MLflow, when the next one starts.
run_guard = RunGuard(
    artifacts_dir=str(artifacts_dir),
    storage_dir=str(artifacts_dir / "storage"),
    tracking=tracking,
    lock_wait_seconds=settings.lock_wait_seconds(),
)

# A declared sweep (params.yaml, or `mlops-assets run --sweep`): the retrain job's trials run in
# parallel, each step a process (or placed by MLOPS_ASSETS_EXECUTOR's executor), the project
# held for the whole run (defs/sweep.py).
retrain_executor = (
    project_held_executor(run_guard, SWEEP_PLAN.parallel, executor_from_env(multiprocess_executor))
    if SWEEP_PLAN is not None
    else None
)

defs = Definitions(
    assets=RETRAIN_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[build_retrain_job(project_dir, retrain_executor), rollback_job, score_job],
    sensors=[git_changes_sensor, github_pull_requests_sensor],
    schedules=[build_schedule(ScheduleSettings.from_env())],
    resources={
        "artifacts": ArtifactStore(root=str(artifacts_dir)),
        "tracking": tracking,
        # GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL, MLOPS_ASSETS_COMMENT_ON; without a
        # token the report stays local (artifacts/pr_comment.md and the job summary).
        "github": GitHubResource.from_env(),
        # MLOPS_ASSETS_DVC_REMOTE; empty: the repository's default DVC remote.
        "dvc": DvcData(remote=settings.dvc_remote()),
        "run_guard": run_guard,
        # Intermediate outputs live beside the artifacts, not in a throwaway instance's
        # storage, so `--select one_asset` works in a later CLI run too; one file per run.
        "io_manager": RunIsolatedStorage(guard=run_guard),
    },
    # One process: the steps share one MLflow run and import TensorFlow once.
    # MLOPS_ASSETS_EXECUTOR=k8s or celery places steps beyond one machine (docs/deployment.md).
    executor=executor_from_env(in_process_executor),
    loggers={"console": compact_console_logger},
)


def retrain_job():
    """The retrain job, for ``dagster.reconstructable``: a sweep's step processes load it again."""
    from mlops_assets.defs.jobs import RETRAIN_JOB

    return defs.resolve_job_def(RETRAIN_JOB)

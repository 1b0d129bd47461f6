"""The retrain job: the whole graph, data to model to report to pull-request comment."""

from pathlib import Path

from dagster import AssetSelection, ExecutorDefinition, define_asset_job

from mlops_assets import run_tags

RETRAIN_JOB = "retrain"


def build_retrain_job(project: Path, executor_def: ExecutorDefinition | None = None):
    """Tagged with the project it was loaded for, so each run in the UI says which one it
    trained on (the project is found from the working directory). ``executor_def``: a sweep's
    (defs/sweep.py); None: the code location's."""
    return define_asset_job(
        RETRAIN_JOB,
        selection=AssetSelection.all(),
        description=f"Data to model to report to PR comment, for the project in {project}.",
        tags={run_tags.PROJECT_DIR: str(project)},
        executor_def=executor_def,
    )

"""The retrain job: the whole graph, data to model to report to pull-request comment."""

from dagster import AssetSelection, define_asset_job

RETRAIN_JOB = "retrain"

retrain_job = define_asset_job(
    RETRAIN_JOB,
    selection=AssetSelection.all(),
    description="Data to model to report to PR comment.",
)

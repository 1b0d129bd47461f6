"""The retrain graph's assets, in order, each with the failure hook that keeps its MLflow run's
status honest (``run_status``), whichever job or selection runs it."""

from mlops_assets.defs.assets.features import features
from mlops_assets.defs.assets.metrics_report import metrics_report
from mlops_assets.defs.assets.model_version import model_version
from mlops_assets.defs.assets.pr_comment import pr_comment
from mlops_assets.defs.assets.raw_data import raw_data
from mlops_assets.defs.assets.trained_model import trained_model
from mlops_assets.defs.run_status import mlflow_run_failed
from mlops_assets.defs.sweep import SWEEP_PLAN, build_sweep_model

# A declared sweep makes trained_model a graph of trials (defs/sweep.py); else the plain asset.
model = build_sweep_model() if SWEEP_PLAN is not None else trained_model

RETRAIN_ASSETS = [
    asset.with_hooks({mlflow_run_failed})
    for asset in (raw_data, features, model, metrics_report, model_version, pr_comment)
]

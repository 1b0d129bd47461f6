"""Orchestration overhead: the whole pipeline from the Dagster CLI against a bare training script.

Both are fresh processes on the embedded defaults (params.yaml, the sample CSV), interleaved.
The CLI run tracks to a local MLflow store, evaluates, plots, writes the report and the comment;
the bare script only loads the CSV, trains the same model with the same params and evaluates it.
It borrows the project's functions for that, but exits as a script of one's own does: through
Python's final garbage collection, which the pipeline's processes skip (``prompt_exit``). A
third case, a bare script that skips it too, is printed for reading the ratio. A fourth, that
script tracked to a local MLflow store as the pipeline tracks (the parameters, the curves in
one request, the model with its signature, the test metrics; its exit frozen too), splits the
overhead into MLflow's share and what Dagster and the report add.
"""

import tempfile
from pathlib import Path

from bench.common import INFO, Figure, interleaved, median, python_case
from mlops_assets_tests.support.cli_project import CliProject

PREPARE = """
import atexit, gc
from pathlib import Path
from mlops_assets.data.dataset import load_dataset
from mlops_assets.data.features import split_features
from mlops_assets.modeling.keras_model import predict, train_model
from mlops_assets.defs.config import DataConfig, SplitConfig, TrainConfig
from mlops_assets.report.metrics import HEADLINE, compute_metrics

data, split = DataConfig(), SplitConfig()
frame = load_dataset(Path(data.path), data.target, data.task)
features = split_features(frame, data.target, data.task, split.test_fraction, split.seed)
"""
BARE = (
    PREPARE
    + """
model = train_model(features, TrainConfig()).model
metrics = compute_metrics(features.task, features.y_test, predict(model, features.x_test))
print(HEADLINE[features.task], metrics[HEADLINE[features.task]])
"""
)
# The same work tracked with the project's MLflow helpers: the parameters, the curves batched,
# the model logged with its signature, the test metrics.
TRACKED = (
    PREPARE
    + """
import mlflow
from mlops_assets.modeling.keras_model import save_model
from mlops_assets.tracking.location import TrackingLocation
from mlops_assets.tracking.mlflow_client import connected, epoch_metrics, log_model

where = TrackingLocation("{uri}", "bare", "bench")
with connected(where):  # creates the experiment, its artifacts beside the store
    experiment = mlflow.get_experiment_by_name("bare").experiment_id
with connected(where), mlflow.start_run(experiment_id=experiment):
    mlflow.log_params({{**data.model_dump(), **split.model_dump(), **TrainConfig().model_dump()}})
    with epoch_metrics() as curves:
        model = train_model(features, TrainConfig(), on_epoch=curves).model
    saved = save_model(model, Path("model.keras"))
    log_model(where, saved, 5.0, features.columns, features.task)
    metrics = compute_metrics(features.task, features.y_test, predict(model, features.x_test))
    mlflow.log_metrics({{f"test_{{k}}": v for k, v in metrics.items()}})
print(HEADLINE[features.task], metrics[HEADLINE[features.task]])
"""
)
# Importing mlops_assets registered the frozen exit; a script of one's own has none.
OWN_EXIT = "atexit.unregister(gc.freeze)\n"


def run(repeats: int = 5) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        project = CliProject(Path(tmp))

        def cli() -> float:
            # A full run each time, not a reuse of the previous one; never posting to GitHub.
            env = {"MLOPS_ASSETS_FORCE": "1", "MLOPS_ASSETS_COMMENT_ON": "local"}
            return project.materialize(**env).seconds

        tracked = TRACKED.format(uri=f"sqlite:///{Path(tmp) / 'bare.db'}")
        cases = {
            "bare": python_case(BARE + OWN_EXIT),
            "cli": cli,
            "bare_frozen": python_case(BARE),
            "tracked_frozen": python_case(tracked),
        }
        times = interleaved(cases, repeats)
    names = ("cli", "bare", "bare_frozen", "tracked_frozen")
    cli, bare, frozen, tracked = (median(times[name]) for name in names)
    return [
        Figure(
            "pipeline via CLI / bare training script",
            cli / bare,
            "<= 1.25",
            cli / bare <= 1.25,
            f"medians {cli:.1f}s / {bare:.1f}s",
        ),
        Figure(
            "pipeline via CLI / bare script with a frozen exit",
            cli / frozen,
            INFO,
            True,
            f"medians {cli:.1f}s / {frozen:.1f}s",
        ),
        Figure(
            "bare script tracked to MLflow / bare script (both frozen)",
            tracked / frozen,
            INFO,
            True,
            f"medians {tracked:.1f}s / {frozen:.1f}s: MLflow's share",
        ),
        Figure(
            "pipeline via CLI / bare script tracked to MLflow (frozen)",
            cli / tracked,
            INFO,
            True,
            f"medians {cli:.1f}s / {tracked:.1f}s: Dagster's and the report's share",
        ),
    ]

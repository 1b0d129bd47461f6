"""Orchestration overhead: the whole pipeline from the Dagster CLI against a bare training script.

Both are fresh processes on the embedded defaults (params.yaml, the sample CSV), interleaved.
The CLI run tracks to a local MLflow store, evaluates, plots, writes the report and the comment;
the bare script only loads the CSV, trains the same model with the same params and evaluates it.
It borrows the project's functions for that, but exits as a script of one's own does: through
Python's final garbage collection, which the pipeline's processes skip (``prompt_exit``). A
third case, a bare script that skips it too, is printed for reading the ratio.
"""

import tempfile
from pathlib import Path

from bench.common import INFO, Figure, interleaved, median, python_case
from mlops_assets_tests.support.cli_project import CliProject

BARE = """
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
model = train_model(features, TrainConfig()).model
metrics = compute_metrics(features.task, features.y_test, predict(model, features.x_test))
print(HEADLINE[features.task], metrics[HEADLINE[features.task]])
"""
# Importing mlops_assets registered the frozen exit; a script of one's own has none.
AS_WRITTEN = BARE + "atexit.unregister(gc.freeze)\n"


def run(repeats: int = 5) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        project = CliProject(Path(tmp))

        def cli() -> float:
            # A full run each time, not a reuse of the previous one; never posting to GitHub.
            env = {"MLOPS_ASSETS_FORCE": "1", "MLOPS_ASSETS_COMMENT_ON": "local"}
            return project.materialize(**env).seconds

        cases = {"bare": python_case(AS_WRITTEN), "cli": cli, "bare_frozen": python_case(BARE)}
        times = interleaved(cases, repeats)
    cli, bare, frozen = (median(times[name]) for name in ("cli", "bare", "bare_frozen"))
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
    ]

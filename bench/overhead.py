"""Orchestration overhead: the whole pipeline from the Dagster CLI against a bare training script.

Both are fresh processes on the embedded defaults (params.yaml, the sample CSV), interleaved.
The CLI run tracks to a local MLflow store, evaluates, plots, writes the report and the comment;
the bare script only loads the CSV, trains the same model with the same params and evaluates it.
"""

import tempfile
from pathlib import Path

from bench.common import Figure, interleaved, median, python_case
from bench.project import CliProject

BARE = """
from pathlib import Path
from mlops_assets.data.dataset import load_dataset
from mlops_assets.data.features import split_features
from mlops_assets.modeling.keras_model import predict, train_model
from mlops_assets.params import DataConfig, SplitConfig, TrainConfig
from mlops_assets.report.metrics import HEADLINE, compute_metrics

data, split = DataConfig(), SplitConfig()
frame = load_dataset(Path(data.path), data.target, data.task)
features = split_features(frame, data.target, data.task, split.test_fraction, split.seed)
model = train_model(features, TrainConfig()).model
metrics = compute_metrics(features.task, features.y_test, predict(model, features.x_test))
print(HEADLINE[features.task], metrics[HEADLINE[features.task]])
"""


def run(repeats: int = 5) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        project = CliProject(Path(tmp))

        def cli() -> float:
            # A full run each time, not a reuse of the previous one; never posting to GitHub.
            env = {"MLOPS_ASSETS_FORCE": "1", "MLOPS_ASSETS_GITHUB_TARGET": "local"}
            return project.materialize(**env).seconds

        times = interleaved({"bare": python_case(BARE), "cli": cli}, repeats)
    ratio = median(times["cli"]) / median(times["bare"])
    return [
        Figure(
            "pipeline via CLI / bare training script",
            ratio,
            "<= 1.25",
            ratio <= 1.25,
            f"medians {median(times['cli']):.1f}s / {median(times['bare']):.1f}s",
        )
    ]

"""Orchestration overhead: the whole pipeline from the Dagster CLI against a bare training script.

Both are fresh processes on the embedded defaults (params.yaml, the sample CSV), interleaved.
The CLI run tracks to a local MLflow store, evaluates, plots, writes the report and the comment;
the bare script only loads the CSV, trains the same model with the same params and evaluates it.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import PROJECT, Figure, interleaved, median, python_case

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


def _cli(root: Path):
    def run() -> None:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(root / "home"),
            "MLOPS_ASSETS_ARTIFACTS_DIR": str(root / "artifacts"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
            "MLOPS_ASSETS_GITHUB_TARGET": "local",
            "MLOPS_ASSETS_FORCE": "1",  # measure a full run, not a reuse of the previous one
        }
        command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize"]
        command += ["-m", "mlops_assets", "--select", "*"]
        subprocess.run(command, cwd=PROJECT, env=env, check=True, capture_output=True)

    return run


def run(repeats: int = 5) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        times = interleaved({"bare": python_case(BARE), "cli": _cli(root)}, repeats)
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

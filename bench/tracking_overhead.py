"""Remote tracking: training that logs its curves to a server 50 ms away, against the same
training logging to the same server with no added delay.

One MLflow 2.7.1 server (the line DagsHub runs) behind two DagsHub-style proxies, one adding
LATENCY seconds to every request (a hosted server across the internet), one adding nothing.
Each round trains the sample model for EPOCHS epochs in this process, logging the curves the
way the pipeline does (``MlflowTracking.epoch_metrics``: batched, not one request per epoch),
once through each proxy and once untracked; rounds interleave. The timed part is training plus sending the
curves; starting and ending the run is the same few requests either way.

    python -m bench tracking_overhead      (uses the tests' cached mlflow 2.7.1 env, builds it if not)
"""

import os
import tempfile
import time
from pathlib import Path

from bench.common import Figure, median

EPOCHS = 100
LATENCY = 0.05
TARGET = 1.10


def _training(features, config, tracking_uri: str | None) -> float:
    """Seconds to train with the curves logged to ``tracking_uri`` as ``trained_model`` logs
    them, or (None) not logged at all."""
    import mlflow

    from mlops_assets.modeling.keras_model import train_model
    from mlops_assets.resources.tracking import MlflowTracking

    if tracking_uri is None:
        started = time.perf_counter()
        train_model(features, config)
        return time.perf_counter() - started
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        started = time.perf_counter()
        curves = MlflowTracking().epoch_metrics()
        train_model(features, config, on_epoch=curves)
        curves.close()
        return time.perf_counter() - started


def run(repeats: int = 5) -> list[Figure]:
    from mlops_assets.data.dataset import load_dataset
    from mlops_assets.data.features import split_features
    from mlops_assets.params import TrainConfig
    from mlops_assets.project import project_dir
    from mlops_assets_tests.tracking_servers import (
        dagshub_proxy,
        free_port,
        legacy_mlflow_venv,
        mlflow_server,
        server_env,
    )

    frame = load_dataset(project_dir() / "data" / "diabetes.csv", "target", "regression")
    features = split_features(frame, "target", "regression", 0.2, 42, data_hash="bench")
    config = TrainConfig(epochs=EPOCHS, hidden_layers=[32], early_stopping_patience=0)
    venv = legacy_mlflow_venv()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = server_env(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
        command = [str(venv / "bin" / "mlflow"), "server", "--backend-store-uri",
                   f"sqlite:///{workdir / 'mlflow.db'}", "--workers", "1"]  # fmt: skip
        with (
            mlflow_server(command, workdir, env, free_port()) as upstream,
            dagshub_proxy(upstream, "bench-token") as near,
            dagshub_proxy(upstream, "bench-token", delay=LATENCY) as far,
        ):
            os.environ["MLFLOW_TRACKING_USERNAME"] = "bench"
            os.environ["MLFLOW_TRACKING_PASSWORD"] = "bench-token"
            uris = {
                "untracked": None,
                "near": f"{near}/octo/retrain.mlflow",
                "far": f"{far}/octo/retrain.mlflow",
            }
            _training(features, config, uris["near"])  # warm-up: graph tracing, caches
            times = {arm: [] for arm in uris}
            for _ in range(repeats):
                for arm, uri in uris.items():
                    times[arm].append(_training(features, config, uri))
    untracked, near_s, far_s = (median(times[arm]) for arm in uris)
    ratio = far_s / near_s
    return [
        Figure(
            f"training + tracking {LATENCY * 1000:.0f} ms away / 0 ms away",
            ratio,
            f"<= {TARGET}",
            ratio <= TARGET,
            f"{EPOCHS} epochs, medians of {repeats}: {far_s:.2f}s / {near_s:.2f}s; "
            f"untracked {untracked:.2f}s (50 ms away / untracked = {far_s / untracked:.2f})",
        )
    ]

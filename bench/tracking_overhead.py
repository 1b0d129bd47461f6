"""How long training waits for remote experiment tracking, per epoch.

Keras autologging (what the pipeline uses) logs each epoch's metrics with
``log_metrics(..., synchronous=False)``: the training loop only enqueues them and a background
thread sends batches. This measures what the loop waits for per epoch, async and synchronous,
against an MLflow 2.7.1 server behind a proxy that adds LATENCY seconds per request (a hosted
server across the internet), and compares it with the time an epoch of the sample model takes.
Timing the logging calls themselves keeps the figure steady on a busy machine.

    python -m bench tracking_overhead      (uses the tests' cached mlflow 2.7.1 env, builds it if not)
"""

import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Figure

EPOCHS = 100
LATENCY = 0.05
METRICS = {"loss": 0.5, "mae": 0.4, "val_loss": 0.6, "val_mae": 0.5}


def epoch_seconds() -> float:
    """Median wall time of one epoch of the sample model (train + validation)."""
    from mlops_assets.data.dataset import load_dataset
    from mlops_assets.data.features import split_features
    from mlops_assets.modeling.keras_model import train_model
    from mlops_assets.params import TrainConfig
    from mlops_assets.project import project_dir

    frame = load_dataset(project_dir() / "data" / "diabetes.csv", "target", "regression")
    features = split_features(frame, "target", "regression", 0.2, 42, data_hash="bench")
    config = TrainConfig(epochs=EPOCHS, hidden_layers=[32], early_stopping_patience=0)
    stamps: list[float] = []
    train_model(features, config, on_epoch=lambda epoch, logs: stamps.append(time.perf_counter()))
    return statistics.median(b - a for a, b in itertools.pairwise(stamps[1:]))  # skip warm-up


def logging_waits(synchronous: bool) -> tuple[float, float]:
    """Median seconds one epoch's ``log_metrics`` blocks, and the final flush (async only)."""
    import mlflow

    waits = []
    with mlflow.start_run():
        for step in range(EPOCHS):
            start = time.perf_counter()
            mlflow.log_metrics(METRICS, step=step, synchronous=synchronous)
            waits.append(time.perf_counter() - start)
        start = time.perf_counter()
        mlflow.flush_async_logging()
        flush = time.perf_counter() - start
    return statistics.median(waits), flush


def run() -> list[Figure]:
    import mlflow

    from mlops_assets_tests.tracking_servers import (
        dagshub_proxy,
        free_port,
        legacy_mlflow_venv,
        mlflow_server,
        server_env,
    )

    epoch = epoch_seconds()
    venv = legacy_mlflow_venv()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = server_env(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
        command = [str(venv / "bin" / "mlflow"), "server", "--backend-store-uri",
                   f"sqlite:///{workdir / 'mlflow.db'}", "--workers", "1"]  # fmt: skip
        with (
            mlflow_server(command, workdir, env, free_port()) as upstream,
            dagshub_proxy(upstream, "bench-token", delay=LATENCY) as host,
        ):
            os.environ["MLFLOW_TRACKING_USERNAME"] = "bench"
            os.environ["MLFLOW_TRACKING_PASSWORD"] = "bench-token"
            mlflow.set_tracking_uri(f"{host}/octo/retrain.mlflow")
            mlflow.set_experiment("bench")
            async_wait, flush = logging_waits(synchronous=False)
            sync_wait, _ = logging_waits(synchronous=True)
    training = epoch * EPOCHS
    with_latency = (training + async_wait * EPOCHS + flush) / training
    return [
        Figure(
            f"training + tracking {LATENCY * 1000:.0f} ms away / training",
            with_latency,
            "<= 1.10",
            with_latency <= 1.10,
            f"{EPOCHS} epochs of {epoch * 1000:.1f} ms; async logging waits "
            f"{async_wait * 1000:.2f} ms/epoch + {flush:.2f} s flush "
            f"(synchronous would wait {sync_wait * 1000:.1f} ms/epoch)",
        )
    ]

"""Remote tracking: training that logs its curves to a server 50 ms away, against the same
training logging to the same server with no added delay.

One MLflow 2.7.1 server (the line DagsHub runs) behind two DagsHub-style proxies, one adding
LATENCY seconds to every request (a hosted server across the internet), one adding nothing.
Each round trains the sample model for EPOCHS epochs in this process untracked, then twice
logging its curves the way the pipeline does (``MlflowTracking.epoch_metrics``: batched, not
one request per epoch), once through each proxy. What tracking costs training is the time the
loop spends in tracking calls; it is timed directly, because the training time itself varies
by far more than a request on a busy 2-core machine. The figure is
(training + waits 50 ms away) / (training + waits 0 ms away); starting and ending the run is
the same few requests either way.

    python -m bench tracking_overhead   (uses the tests' cached mlflow 2.7.1 env, or builds it)
"""

import os
import tempfile
import time
from pathlib import Path

from bench.common import Figure, median

EPOCHS = 100
LATENCY = 0.05
TARGET = 1.10


def _training_seconds(features, config) -> float:
    from mlops_assets.modeling.keras_model import train_model

    started = time.perf_counter()
    train_model(features, config)
    return time.perf_counter() - started


def _tracking_waits(features, config, tracking_uri: str) -> float:
    """Seconds the training loop spends in tracking calls while it trains with its curves
    logged to ``tracking_uri`` the way ``trained_model`` logs them."""
    import mlflow

    from mlops_assets.defs.resources.tracking import MlflowTracking
    from mlops_assets.modeling.keras_model import train_model

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("bench")
    waited = 0.0

    def timed(call, *args):
        nonlocal waited
        started = time.perf_counter()
        result = call(*args)
        waited += time.perf_counter() - started
        return result

    with mlflow.start_run():
        curves = timed(MlflowTracking().epoch_metrics)
        train_model(features, config, on_epoch=lambda *epoch: timed(curves, *epoch))
        timed(curves.flush)  # what leaving ``with curves:`` does
    return waited


def run(repeats: int = 6) -> list[Figure]:
    from mlops_assets.data.dataset import load_dataset
    from mlops_assets.data.features import split_features
    from mlops_assets.defs.config import TrainConfig
    from mlops_assets.settings import project_dir
    from mlops_assets_tests.support.tracking_servers import (
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
            uris = {"near": f"{near}/octo/retrain.mlflow", "far": f"{far}/octo/retrain.mlflow"}
            _tracking_waits(features, config, uris["near"])  # warm-up: graph tracing, caches
            waits = {arm: [] for arm in uris}
            training = []
            for _ in range(repeats):
                training.append(_training_seconds(features, config))
                for arm, uri in uris.items():
                    waits[arm].append(_tracking_waits(features, config, uri))
    train, near_s, far_s = median(training), median(waits["near"]), median(waits["far"])
    ratio = (train + far_s) / (train + near_s)
    return [
        Figure(
            f"training + tracking {LATENCY * 1000:.0f} ms away / 0 ms away",
            ratio,
            f"<= {TARGET}",
            ratio <= TARGET,
            f"{EPOCHS} epochs in {train:.2f}s; the loop waits {far_s * 1000:.0f} ms / "
            f"{near_s * 1000:.0f} ms for tracking ({LATENCY * 1000:.0f} ms away / untracked = "
            f"{(train + far_s) / train:.3f}); medians of {repeats}",
        )
    ]

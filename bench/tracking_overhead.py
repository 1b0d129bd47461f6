"""How much remote experiment tracking adds to training time.

Trains the sample model for EPOCHS epochs three ways: no tracking; Keras autologging (the
pipeline's way: per-epoch metrics logged asynchronously) to an MLflow server behind a proxy that
adds LATENCY seconds per request, like a hosted server over the internet; and the same with
synchronous per-epoch logging, for comparison. Prints seconds and ratios to the untracked run.

    python -m bench.tracking_overhead      (needs the cached mlflow 2.7.1 env; builds it if not)
"""

import os
import tempfile
import time
from pathlib import Path

EPOCHS = 150
LATENCY = 0.05


def main() -> None:
    import mlflow

    from mlops_assets.data.dataset import load_dataset
    from mlops_assets.data.features import split_features
    from mlops_assets.modeling.keras_model import train_model
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

    def timed(on_epoch=None) -> float:
        start = time.perf_counter()
        train_model(features, config, on_epoch=on_epoch)
        return time.perf_counter() - start

    timed()  # warm-up: TensorFlow's first graph build
    untracked = timed()

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
            mlflow.set_tracking_uri(f"{host}/octo/retrain.mlflow")
            os.environ["MLFLOW_TRACKING_USERNAME"] = os.environ["MLFLOW_TRACKING_PASSWORD"] = (
                "bench-token"
            )
            mlflow.set_experiment("bench")
            with mlflow.start_run():
                mlflow.keras.autolog(log_models=False, log_datasets=False, silent=True)
                start = time.perf_counter()
                train_model(features, config)
                mlflow.flush_async_logging()
                autolog = time.perf_counter() - start
                mlflow.keras.autolog(disable=True)
            with mlflow.start_run():
                sync = timed(lambda epoch, logs: mlflow.log_metrics(logs, step=epoch))
    print(f"{EPOCHS} epochs, {LATENCY * 1000:.0f} ms per request to the server")
    print(f"untracked:                 {untracked:6.2f} s")
    print(f"autolog (async, pipeline): {autolog:6.2f} s  x{autolog / untracked:.2f}")
    print(f"synchronous per epoch:     {sync:6.2f} s  x{sync / untracked:.2f}")


if __name__ == "__main__":
    main()

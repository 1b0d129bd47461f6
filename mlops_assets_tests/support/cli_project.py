"""A throwaway copy of the project driven through the Dagster CLI, as CI drives it.

Everything it writes (DAGSTER_HOME, artifacts, MLflow store) lives under one directory, so a
test or a benchmark can run the real command repeatedly against a persistent instance.
"""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MATERIALIZE_ALL = ["asset", "materialize", "-m", "mlops_assets", "--select", "*"]


@dataclass(frozen=True)
class CliRun:
    seconds: float
    returncode: int
    output: str  # stdout and stderr


class CliProject:
    """``params.yaml`` and ``data/`` copied into ``root``, with a persistent ``DAGSTER_HOME``."""

    def __init__(self, root: Path, train: dict | None = None):
        self.root = root
        self.home = root / "dagster_home"
        self.artifacts = root / "artifacts"
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO / "data", root / "data", dirs_exist_ok=True)
        shutil.copy2(REPO / "params.yaml", root / "params.yaml")
        if train:
            self.set_params("train", **train)

    def set_params(self, section: str, **values) -> None:
        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        params[section].update(values)
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "MLFLOW_", "DAGSTER"))
        }
        return {
            **env,
            "DAGSTER_HOME": str(self.home),
            "MLOPS_ASSETS_PROJECT_DIR": str(self.root),
            "MLOPS_ASSETS_ARTIFACTS_DIR": str(self.artifacts),
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.root / 'mlflow.db'}",
        }

    def materialize(
        self, *extra: str, what: str = "CLI run", check: bool = True, **env: str
    ) -> CliRun:
        """``dagster asset materialize -m mlops_assets --select '*'`` run from the repository,
        with ``env`` on top of the project's environment; with ``check``, raises (naming
        ``what``) if it fails."""
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "dagster", *MATERIALIZE_ALL, *extra],
            cwd=REPO,
            env={**self.environment(), **env},
            capture_output=True,
            check=False,
            text=True,
        )
        output = done.stdout + done.stderr
        if check and done.returncode != 0:
            raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{output[-3000:]}")
        return CliRun(time.perf_counter() - started, done.returncode, output)

    def start(self, *args: str, log: Path, **env: str) -> subprocess.Popen:
        """``mlops-assets run *args`` in the background, its output going to ``log``."""
        with open(log, "wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "mlops_assets", "run", *args],
                cwd=REPO,
                env={**self.environment(), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def run(self, *args: str, **env: str) -> CliRun:
        """``mlops-assets run *args``, as ``make run`` and the workflows call it."""
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "mlops_assets", "run", *args],
            cwd=REPO,
            env={**self.environment(), **env},
            capture_output=True,
            check=False,
            text=True,
        )
        return CliRun(time.perf_counter() - started, done.returncode, done.stdout + done.stderr)

    def mlflow_runs(self) -> dict[str, str]:
        """Each MLflow run's status by the Dagster run it tracked."""
        from mlflow import MlflowClient

        client = MlflowClient(self.environment()["MLFLOW_TRACKING_URI"])
        experiments = [e.experiment_id for e in client.search_experiments()]
        return {
            run.data.tags["dagster_run_id"]: run.info.status
            for run in client.search_runs(experiments)
            if "dagster_run_id" in run.data.tags
        }

    def instance(self):
        from dagster import DagsterInstance
        from dagster._core.instance.ref import InstanceRef

        return DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

"""A no-op ``mlops-assets run`` against ``dvc repro`` with nothing to do, on one project.

The project is a git copy of this checkout with the DVC layout; one full ``mlops-assets run``,
then ``dvc commit``, so both tools find everything up to date. Each round times, in turn, the
no-op ``mlops-assets run`` (decided before launching: ``prelaunch``), ``dvc repro`` and, for
reference, the Dagster-level no-op ``dagster asset materialize --select '*'`` (a launched run
whose steps reuse every output).
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import INFO, Figure, interleaved, median
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.git_repo import project_repository

TARGET = 1.0
FAST = {"epochs": 3, "early_stopping_patience": 0}


def _timed(command: list[str], cwd: Path, env: dict, expect: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or expect not in done.stdout + done.stderr:
        output = (done.stdout + done.stderr)[-2000:]
        raise RuntimeError(f"{' '.join(command[:4])} did not do a no-op:\n{output}")
    return seconds


def run(repeats: int = 3) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="mlops-assets-bench-") as tmp:
        repo = project_repository(Path(tmp) / "project")
        project = CliProject(repo.path, train=FAST)
        env = {**project.environment(), "DVC_NO_ANALYTICS": "1"}
        if project.run().returncode != 0:
            raise RuntimeError("the first run failed")
        dvc = [sys.executable, "-m", "dvc"]
        subprocess.run([*dvc, "commit", "--force", "--quiet"], cwd=repo.path, env=env, check=True)
        cli = [sys.executable, "-m", "mlops_assets", "run"]
        dagster = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "mlops_assets"]
        times = interleaved(
            {
                "cli": lambda: _timed(cli, repo.path, env, "nothing changed since run"),
                "dvc": lambda: _timed([*dvc, "repro"], repo.path, env, "up to date"),
                "dagster": lambda: _timed(
                    [*dagster, "--select", "*"], repo.path, env, "reusing the output of run"
                ),
            },
            repeats,
        )
    cli_s, dvc_s, dagster_s = (median(times[name]) for name in ("cli", "dvc", "dagster"))
    return [
        Figure(
            "no-op mlops-assets run / no-op dvc repro",
            cli_s / dvc_s,
            f"<= {TARGET}",
            cli_s / dvc_s <= TARGET,
            f"medians {cli_s:.2f}s / {dvc_s:.2f}s over {repeats} interleaved rounds",
        ),
        Figure(
            "launched no-op (dagster asset materialize) / dvc repro",
            dagster_s / dvc_s,
            INFO,
            True,
            f"medians {dagster_s:.2f}s / {dvc_s:.2f}s",
        ),
    ]

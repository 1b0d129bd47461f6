"""Ten overlapping runs queued through the real Dagster daemon on one project: every run
succeeds, one at a time, ``latest`` is one run's whole set, and MLflow agrees with Dagster."""

import json
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef
from mlflow import MlflowClient

from mlops_assets import run_tags
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets.tracking.location import local_tracking_uri
from mlops_assets_tests.support.daemon import daemon_environment
from mlops_assets_tests.support.git_repo import project_repository
from mlops_assets_tests.support.params import FAST_PARAMS
from mlops_assets_tests.support.processes import process_group

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

RUNS = 10
FORCED = {0, 4, 8}  # these retrain; the others reuse what the last one made
DEADLINE_SECONDS = 480
INSTANCE = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 10
"""


def step_window(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    """When the run's first step started and its last step ended."""
    events = instance.all_logs(
        run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    )
    times = [event.timestamp for event in events]
    return min(times), max(times)


@pytest.mark.slow(reason="ten whole runs, queued through the real daemon one at a time")
def test_ten_queued_runs_through_the_daemon_end_consistent(tmp_path):
    project = project_repository(tmp_path / "project")
    project.commit({"params.yaml": FAST_PARAMS}, "few epochs for the test")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE)
    # Create the instance's tables once: Dagster's SQLite storage races when eleven processes
    # create them at once on a new home (alembic then finds several heads).
    DagsterInstance.from_ref(InstanceRef.from_dir(str(home))).dispose()
    env = daemon_environment(
        home, project.path, MLOPS_ASSETS_SENSOR="off", MLOPS_ASSETS_SCHEDULE="off"
    )
    bin_dir = Path(sys.executable).parent
    daemon = [str(bin_dir / "dagster-daemon"), "run", "-m", "mlops_assets"]
    with process_group(daemon, env, tmp_path / "daemon.log", cwd=project.path) as process:
        launches = [
            subprocess.Popen(
                [str(bin_dir / "dagster"), "job", "launch", "-m", "mlops_assets", "-j", "retrain"]
                + (["--tags", json.dumps({run_tags.FORCE: "1"})] if n in FORCED else []),
                env=env,
                cwd=project.path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for n in range(RUNS)
        ]
        for launch in launches:
            _, err = launch.communicate(timeout=300)
            assert launch.returncode == 0, err.decode()[-2000:]

        deadline = time.monotonic() + DEADLINE_SECONDS
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            while time.monotonic() < deadline:
                runs = instance.get_runs()
                if len(runs) == RUNS and all(run.is_finished for run in runs):
                    break
                if process.poll() is not None:
                    pytest.fail(f"the daemon exited: {(tmp_path / 'daemon.log').read_text()}")
                time.sleep(2)
            else:
                pytest.fail(f"runs unfinished: {[(r.run_id, r.status) for r in runs]}")

            statuses = {run.run_id: run.status for run in runs}
            assert set(statuses.values()) == {DagsterRunStatus.SUCCESS}, statuses
            windows = sorted(step_window(instance, run_id) for run_id in statuses)

    # One at a time: each run's steps start after the previous run's have ended.
    assert all(earlier[1] <= later[0] for earlier, later in pairwise(windows))
    latest = project.path / "artifacts" / "latest"
    assert latest.resolve().name in statuses
    assert RunArtifacts(project.path / "artifacts").is_complete(latest)
    client = MlflowClient(local_tracking_uri(project.path))
    tracked = client.search_runs([e.experiment_id for e in client.search_experiments()])
    mlflow_statuses = {run.data.tags["dagster_run_id"]: run.info.status for run in tracked}
    assert len(mlflow_statuses) >= len(FORCED)
    assert set(mlflow_statuses) <= set(statuses)
    assert set(mlflow_statuses.values()) == {"FINISHED"}

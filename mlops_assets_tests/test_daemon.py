"""The real Dagster daemon retrains a project when a commit changes its data, exactly once."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from mlops_assets import run_tags
from mlops_assets_tests.support.daemon import daemon_environment
from mlops_assets_tests.support.git_repo import project_repository
from mlops_assets_tests.support.params import FAST_PARAMS
from mlops_assets_tests.support.processes import process_group

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

SENSOR = "git_changes"
DEADLINE_SECONDS = 240  # the daemon's startup, one tick, one few-epoch run on a busy machine


def wait_for(what: str, check, deadline: float, daemon: subprocess.Popen, interval=1.0):
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if daemon.poll() is not None:
            pytest.fail(f"the daemon exited ({daemon.returncode}) while waiting for {what}")
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def project(tmp_path):
    repo = project_repository(tmp_path / "project")
    repo.commit({"params.yaml": FAST_PARAMS}, "few epochs for the test")
    return repo


@pytest.fixture
def daemon(project, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = daemon_environment(home, project.path, MLOPS_ASSETS_SENSOR_INTERVAL="2")
    command = [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "mlops_assets"]
    # Its own process group: the code server and run workers go with it.
    with process_group(command, env, tmp_path / "daemon.log", cwd=project.path) as process:
        yield process, home


def sensor_state(instance: DagsterInstance):
    return next((s for s in instance.all_instigator_state() if s.name == SENSOR), None)


def test_the_daemon_retrains_once_on_a_data_commit(project, daemon, tmp_path):
    process, home = daemon
    deadline = time.monotonic() + DEADLINE_SECONDS
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        state = wait_for(
            "the sensor's first tick",
            lambda: (
                (s := sensor_state(instance))
                and s.instigator_data
                and s.instigator_data.cursor
                and s
            ),
            deadline,
            process,
        )
        assert project.head() in state.instigator_data.cursor

        csv = project.path / "data" / "diabetes.csv"
        rows = csv.read_text().splitlines(keepends=True)
        sha = project.commit({"data/diabetes.csv": "".join(rows + rows[-1:])}, "one more row")

        def finished_run():
            runs = instance.get_runs(RunsFilter(tags={run_tags.COMMIT: sha}))
            if runs and runs[0].status == DagsterRunStatus.FAILURE:
                pytest.fail((tmp_path / "daemon.log").read_text()[-5000:])
            return runs and runs[0].is_finished and runs[0]

        run = wait_for("the retrain run", finished_run, deadline, process, interval=2)
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/sensor_name"] == SENSOR
        assert run.tags["dagster/run_key"] == sha
        assert (project.path / "artifacts" / "latest" / "model.keras").exists()

        # Later ticks on the same commit launch nothing.
        state = sensor_state(instance)
        after = time.time()
        wait_for(
            "two more ticks",
            lambda: (
                len(
                    [
                        t
                        for t in instance.get_ticks(state.instigator_origin_id, state.selector_id)
                        if t.timestamp > after
                    ]
                )
                >= 2
            ),
            deadline + 60,
            process,
        )
        assert len(instance.get_runs(RunsFilter(tags={"dagster/sensor_name": SENSOR}))) == 1

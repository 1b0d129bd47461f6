"""Runs on one project, as users start them: overlapping, hurried, killed, stopped. Each ends
with statuses that tell the truth in Dagster and MLflow, and ``latest`` one run's whole set."""

import json
import signal
import subprocess
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterRunStatus

from mlops_assets import run_tags
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.params import FAST
from mlops_assets_tests.support.run_watch import holder, training, wait_for

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

SHORT = {**FAST, "epochs": 60}  # long enough for a second run to start meanwhile
LONG = {**FAST, "epochs": 5000}  # stopped long before its end


def start_training(project: CliProject, log: Path) -> tuple[subprocess.Popen, str]:
    """A long CLI run, once it is training: its process and its run id."""
    process = project.start(log=log)
    wait_for("the training", lambda: training(log), process)
    return process, holder(project)


def test_two_overlapping_runs_both_finish_one_after_the_other(tmp_path):
    project = CliProject(tmp_path / "project", train=SHORT)
    first = project.start("--force", log=tmp_path / "first.log")
    first_id = wait_for("the first run to hold the project", lambda: holder(project), first)
    second = project.start("--force", log=tmp_path / "second.log")

    assert first.wait(300) == 0, (tmp_path / "first.log").read_text()[-3000:]
    assert second.wait(300) == 0, (tmp_path / "second.log").read_text()[-3000:]

    second_log = (tmp_path / "second.log").read_text()
    assert f"waiting for run {first_id}" in second_log
    with project.instance() as instance:
        runs = {run.run_id: run.status for run in instance.get_runs()}
    assert set(runs.values()) == {DagsterRunStatus.SUCCESS} and len(runs) == 2
    latest = project.artifacts / "latest"
    assert latest.resolve().name in runs
    assert RunArtifacts(project.artifacts).is_complete(latest)
    assert project.mlflow_runs() == dict.fromkeys(runs, "FINISHED")


def test_two_first_runs_started_at_once_on_a_new_instance_both_succeed(tmp_path):
    """Both would create the new DAGSTER_HOME's tables ("table … already exists")."""
    project = CliProject(tmp_path / "project", train=FAST)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    runs = [project.start("--force", log=log) for log in logs]

    for run, log in zip(runs, logs, strict=True):
        assert run.wait(300) == 0, log.read_text()[-3000:]
    with project.instance() as instance:
        assert {run.status for run in instance.get_runs()} == {DagsterRunStatus.SUCCESS}


def test_a_killed_run_is_marked_failed_in_dagster_and_mlflow_by_a_run_that_reuses_everything(
    tmp_path,
):
    """The next run reuses every output (no step of it tracks to MLflow), yet the killed run's
    MLflow run ends KILLED too: the run guard reconciles at the start of every run."""
    project = CliProject(tmp_path / "project", train=FAST)
    assert project.run().returncode == 0
    longer = json.dumps({"ops": {"trained_model": {"config": {"epochs": LONG["epochs"]}}}})
    doomed = project.start("--force", "--config-json", longer, log=tmp_path / "killed.log")
    wait_for("the training", lambda: training(tmp_path / "killed.log"), doomed)
    doomed_id = holder(project)

    hurried = project.run("--force", MLOPS_ASSETS_LOCK_WAIT="0")
    assert hurried.returncode == 1
    assert f"run {doomed_id}" in hurried.output and "MLOPS_ASSETS_LOCK_WAIT" in hurried.output

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    with project.instance() as instance:
        assert instance.get_run_by_id(doomed_id).status == DagsterRunStatus.STARTED
    assert project.mlflow_runs()[doomed_id] == "RUNNING"

    after = project.materialize(what="the unforced run after the kill")

    assert f"run {doomed_id}'s process is gone: marked it failed" in after.output
    with project.instance() as instance:
        run = instance.get_run_by_id(doomed_id)
        failure = instance.all_logs(doomed_id, of_type=DagsterEventType.RUN_FAILURE)[-1]
        last = instance.get_runs(limit=1)[0]
        model = instance.get_latest_materialization_event(AssetKey("trained_model"))
    assert run.status == DagsterRunStatus.FAILURE and run.tags[run_tags.ABANDONED] == "1"
    assert "ended without finishing the run" in failure.message
    assert model.run_id == last.run_id  # the unforced run stored the reused model ...
    assert model.asset_materialization.metadata["reused"].value is True  # ... without training
    assert project.mlflow_runs()[doomed_id] == "KILLED"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_training_and_ends_the_run_and_its_mlflow_run(tmp_path, stop):
    project = CliProject(tmp_path / "project", train=LONG)
    log = tmp_path / "stopped.log"
    process, run_id = start_training(project, log)

    process.send_signal(stop)

    assert process.wait(60) != 0
    with project.instance() as instance:
        assert instance.get_run_by_id(run_id).status in (
            DagsterRunStatus.CANCELED,
            DagsterRunStatus.FAILURE,
        )
    assert project.mlflow_runs()[run_id] in ("FAILED", "KILLED")
    assert f"stopped by {stop.name}: training ended at a clean point" in log.read_text()

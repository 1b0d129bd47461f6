"""Runs on one project, as users start them: overlapping, hurried, killed, stopped. Each ends
with statuses that tell the truth in Dagster and MLflow, and ``latest`` one run's whole set."""

import signal
import subprocess
from pathlib import Path

from dagster import DagsterEventType, DagsterRunStatus

from mlops_assets import run_tags
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.params import FAST
from mlops_assets_tests.support.run_watch import holder, training, wait_for

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


def test_a_killed_run_is_marked_failed_by_the_next_and_a_hurried_run_refuses(tmp_path):
    project = CliProject(tmp_path / "project", train=LONG)
    doomed, doomed_id = start_training(project, tmp_path / "killed.log")

    hurried = project.run(MLOPS_ASSETS_LOCK_WAIT="0")
    assert hurried.returncode == 1
    assert f"run {doomed_id}" in hurried.output and "MLOPS_ASSETS_LOCK_WAIT" in hurried.output

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    with project.instance() as instance:
        assert instance.get_run_by_id(doomed_id).status == DagsterRunStatus.STARTED
    assert project.mlflow_runs()[doomed_id] == "RUNNING"

    project.set_params("train", **FAST)
    after = project.run()

    assert after.returncode == 0, after.output[-3000:]
    assert f"run {doomed_id}'s process is gone: marked it failed" in after.output
    with project.instance() as instance:
        run = instance.get_run_by_id(doomed_id)
        failure = instance.all_logs(doomed_id, of_type=DagsterEventType.RUN_FAILURE)[-1]
    assert run.status == DagsterRunStatus.FAILURE and run.tags[run_tags.ABANDONED] == "1"
    assert "ended without finishing the run" in failure.message
    assert project.mlflow_runs()[doomed_id] == "KILLED"


def test_sigterm_ends_the_run_and_its_mlflow_run(tmp_path):
    project = CliProject(tmp_path / "project", train=LONG)
    process, run_id = start_training(project, tmp_path / "stopped.log")

    process.send_signal(signal.SIGTERM)

    assert process.wait(60) != 0
    with project.instance() as instance:
        assert instance.get_run_by_id(run_id).status in (
            DagsterRunStatus.CANCELED,
            DagsterRunStatus.FAILURE,
        )
    assert project.mlflow_runs()[run_id] in ("FAILED", "KILLED")

"""Faults injected into real runs: the tracking server dies mid-training, GitHub answers 500 for
the whole retry budget, the run's directory cannot be written. Each ends with a message naming
what failed, and nothing lost: the model on disk, the report kept, ``latest`` untouched."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_assets import run_tags
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets.defs.io_manager import RunOutputsIOManager
from mlops_assets.defs.resources.github import GitHubResource
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.github_actions import HEAD, pr_event
from mlops_assets_tests.support.params import FAST
from mlops_assets_tests.support.run_watch import holder, training, wait_for
from mlops_assets_tests.support.snapshots import snapshot
from mlops_assets_tests.support.tracking_servers import free_port, mlflow_server, server_env

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

NO_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


def test_the_tracking_server_dying_mid_training_fails_the_run_and_keeps_the_model(tmp_path):
    store = tmp_path / "server"
    store.mkdir()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
        "--artifacts-destination", str(store / "artifacts"),
        "--workers", "1",
    ]  # fmt: skip
    env = server_env(
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    port = free_port()
    # Long enough to outlive the server's stop by far; every epoch after it is training time.
    project = CliProject(tmp_path / "project", train={**FAST, "epochs": 500})
    log = tmp_path / "run.log"
    with mlflow_server(command, store, env, port) as url:
        client_env = {"MLFLOW_TRACKING_URI": url, **NO_RETRIES}
        process = project.start(log=log, **client_env)
        wait_for("the training", lambda: training(log), process)
        run_id = holder(project)
    # The server is gone; the training goes on.

    assert process.wait(300) == 1
    output = log.read_text()
    assert f"could not send the training curves to MLflow at {url}" in output
    assert (project.artifacts / "runs" / run_id / "model.keras").is_file()
    assert not (project.artifacts / "latest").exists()

    project.set_params("train", **FAST)
    with mlflow_server(command, store, env, port) as url:
        after = project.run(**client_env)
        assert after.returncode == 0, after.output[-3000:]
        runs = MlflowClient(url).search_runs(
            [e.experiment_id for e in MlflowClient(url).search_experiments()]
        )
    statuses = {run.data.tags["dagster_run_id"]: run.info.status for run in runs}
    assert statuses.pop(run_id) == "FAILED"  # ended by the next run: the server was down
    assert list(statuses.values()) == ["FINISHED"]


def test_github_down_for_the_whole_retry_budget_keeps_the_report_and_the_model(
    workspace,
    fake_github,
    actions,
):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))
    fake_github.fail(500, times=None)
    workspace.resources["github"] = GitHubResource.from_env(
        token=os.environ["GITHUB_TOKEN"], seconds_between_writes=0, retry_budget_seconds=2
    )

    result = workspace.materialize()

    assert result.success
    assert RunArtifacts(workspace.artifacts).is_complete(workspace.latest)
    [materialization] = result.asset_materializations_for_node("pr_comment")
    metadata = materialization.metadata
    assert metadata["posted_to"].value == "local file"
    assert metadata["reason"].value.startswith("not posted: gave up commenting on pull request #7")
    assert "500" in metadata["reason"].value and "retry_budget_seconds" in metadata["reason"].value
    kept = workspace.artifacts / "pr_comment.md"
    assert kept.read_text() == metadata["body"].value
    assert not fake_github.comments_on("issue", 7)


@pytest.fixture
def immutable():
    """``chattr +i`` on directories (root may write anywhere a mode forbids), undone after."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is missing")
    made = []

    def make(path: Path) -> None:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_run_directory_that_cannot_be_written_fails_clearly_and_leaves_latest(
    workspace, immutable
):
    assert workspace.materialize().success
    before = snapshot(workspace.latest)
    immutable(workspace.artifacts / "runs")

    result = workspace.materialize(raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "trained_model"
    message = failure.step_failure_data.error.cause.message
    assert "cannot create the run's directory (Operation not permitted)" in message
    assert str(workspace.artifacts / "runs") in message
    assert snapshot(workspace.latest) == before


def test_a_failure_while_loading_inputs_ends_the_mlflow_run_failed(workspace, monkeypatch):
    """The run's MLflow run was FINISHED by trained_model; metrics_report then fails before its
    own code runs, while loading its inputs: the failure hook ends the MLflow run FAILED."""
    load = RunOutputsIOManager.load_input

    def torn(self, context):
        if context.asset_key.to_user_string() == "trained_model":
            raise EOFError("Ran out of input")
        return load(self, context)

    monkeypatch.setattr(RunOutputsIOManager, "load_input", torn)
    result = workspace.materialize(raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "metrics_report"
    [run] = MlflowClient(workspace.tracking_uri).search_runs(
        [MlflowClient(workspace.tracking_uri).get_experiment_by_name("tests").experiment_id]
    )
    assert run.data.tags["dagster_run_id"] == result.run_id
    assert run.info.status == "FAILED"
    assert run.data.tags[run_tags.FAILED_ASSET] == "metrics_report"

"""Experiment tracking against real MLflow servers on loopback (see ``tracking_servers``)."""

import os
import subprocess
from pathlib import Path

import pytest
import requests
from dagster import DagsterInstance, asset, materialize
from dagster._serdes import serialize_value

from mlops_assets import run_tags
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.git import checkout
from mlops_assets.github.context import base_branch
from mlops_assets.redaction import redact_url
from mlops_assets.settings import project_dir
from mlops_assets.tracking import provenance
from mlops_assets.tracking.location import resolve_location
from mlops_assets_tests.conftest import ALL_ASSETS, run_config
from mlops_assets_tests.support.tracking_servers import dagshub_proxy, free_port

GITHUB_PR_ENV = {
    "GITHUB_HEAD_REF": "main",  # the branch the baseline query looks for
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "octo/retrain",
    "GITHUB_RUN_ID": "4242",
}
TRACKING_VARS = (
    "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN", "MLFLOW_EXPERIMENT_NAME", "DAGSHUB_REPO_OWNER", "DAGSHUB_REPO_NAME",
    "DAGSHUB_USER_TOKEN", "DAGSHUB_USER_NAME", "DAGSHUB_CLIENT_HOST", "GITHUB_HEAD_REF",
    "GITHUB_REF", "GITHUB_REF_TYPE", "GITHUB_REF_NAME", "GITHUB_BASE_REF",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_tracking_env(monkeypatch):
    """Each test states its own tracking environment (CI may set some of these)."""
    for name in TRACKING_VARS:
        monkeypatch.delenv(name, raising=False)


def run_graph(workspace, tracking: MlflowTracking, selection=None):
    """The whole graph (or ``selection``) with ``tracking``, on an instance whose event log the
    test can read back in full."""
    instance = DagsterInstance.ephemeral()
    workspace.resources["tracking"] = tracking
    config = run_config()
    if selection:
        config = {"ops": {k: v for k, v in config["ops"].items() if k in selection}}
    result = materialize(
        ALL_ASSETS,
        resources=workspace.resources,
        run_config=config,
        selection=selection,
        raise_on_error=False,
        instance=instance,
    )
    return result, instance


def event_log_text(instance: DagsterInstance, run_id: str) -> str:
    return "\n".join(serialize_value(entry) for entry in instance.all_logs(run_id))


def failure_message(result) -> str:
    [failure] = result.get_step_failure_events()
    return failure.step_failure_data.error.to_string()  # with the causes


def the_run(client, experiment_name: str, dagster_run_id: str):
    experiment = client.get_experiment_by_name(experiment_name)
    [run] = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.dagster_run_id = '{dagster_run_id}'"
    )
    return run


# --- where runs go, and where they came from (no server needed) ---------------------------------


def test_dagshub_variables_route_runs_to_the_dagshub_server_with_the_token():
    env = {
        "DAGSHUB_REPO_OWNER": "octo",
        "DAGSHUB_REPO_NAME": "retrain",
        "DAGSHUB_USER_TOKEN": "t0k",
    }

    target = resolve_location(env, Path("/p"))
    on_prem = resolve_location(env, Path("/p"), dagshub_host="https://hub.internal/")

    assert target.uri == "https://dagshub.com/octo/retrain.mlflow"
    assert target.credential_env(env) == {  # the username lands in the mlflow.user tag
        "MLFLOW_TRACKING_USERNAME": "octo",
        "MLFLOW_TRACKING_PASSWORD": "t0k",
    }
    assert (
        target.credential_env({**env, "DAGSHUB_USER_NAME": "me"})["MLFLOW_TRACKING_USERNAME"]
        == "me"
    )
    assert target.credential_vars(env) == "DAGSHUB_USER_TOKEN"
    assert (
        target.run_url("0", "abc")
        == "https://dagshub.com/octo/retrain/experiments/#/experiment/m_abc"
    )
    assert on_prem.uri == "https://hub.internal/octo/retrain.mlflow"
    # An explicit MLflow URI wins; an incomplete DagsHub set means the local store.
    explicit = resolve_location({**env, "MLFLOW_TRACKING_URI": "http://mlflow:5000"}, Path("/p"))
    assert (explicit.uri, explicit.credential_env(env)) == ("http://mlflow:5000", {})
    assert (
        resolve_location({"DAGSHUB_REPO_OWNER": "octo"}, Path("/p")).uri == "sqlite:////p/mlflow.db"
    )
    assert resolve_location({"MLFLOW_EXPERIMENT_NAME": "e"}, Path("/p")).experiment == "e"


def test_credentials_in_a_tracking_uri_are_never_displayed():
    assert redact_url("https://me:s3cret@host:8443/x.mlflow") == "https://host:8443/x.mlflow"
    assert redact_url("sqlite:////p/mlflow.db") == "sqlite:////p/mlflow.db"


def test_git_tags_record_commit_branch_and_dirty_flag(tmp_path):
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True
        )

    git("init", "-q", "-b", "feature/x")
    (tmp_path / "params.yaml").write_text("a: 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    commit = git("rev-parse", "HEAD").stdout.strip()

    clean = checkout.git_tags(tmp_path, {})
    (tmp_path / "params.yaml").write_text("a: 2\n")
    dirty = checkout.git_tags(tmp_path, {"GITHUB_HEAD_REF": "pr-branch"})

    assert clean == {
        "mlflow.source.git.commit": commit,
        "mlflow.source.git.branch": "feature/x",
        run_tags.GIT_DIRTY: "false",
    }
    assert dirty[run_tags.GIT_DIRTY] == "true"
    assert dirty["mlflow.source.git.branch"] == "pr-branch"  # a PR checkout is a detached merge


def test_ci_tags_name_the_pull_request_and_the_workflow_run():
    assert provenance.ci_tags(GITHUB_PR_ENV) == {
        run_tags.PR_NUMBER: "7",
        run_tags.CI_RUN_URL: "https://github.example/octo/retrain/actions/runs/4242",
    }
    assert provenance.ci_tags({"GITHUB_REF": "refs/heads/main"}) == {}
    assert base_branch({"GITHUB_BASE_REF": "develop"}) == "develop"
    assert base_branch({}) == "main"


# --- the current MLflow line, basic auth --------------------------------------------------------


@pytest.mark.pipeline
def test_a_run_on_an_mlflow3_server_has_params_curves_model_artifacts_tags_and_a_baseline(
    workspace, mlflow3_server, monkeypatch
):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", mlflow3_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", mlflow3_server.password)
    for name, value in GITHUB_PR_ENV.items():
        monkeypatch.setenv(name, value)
    tracking = MlflowTracking(tracking_uri=mlflow3_server.url, experiment_name="mlflow3")

    first, _ = run_graph(workspace, tracking)
    again, _ = run_graph(workspace, tracking, selection=["metrics_report"])

    assert first.success and again.success
    client = MlflowClient(mlflow3_server.url)
    run = the_run(client, "mlflow3", first.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["train.epochs"] == "3"
    assert run.data.params["data.target"] == "target"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [0, 1, 2]
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3
    report = first.output_for_node("metrics_report")
    assert run.data.metrics["test_mae"] == pytest.approx(report.metrics["test_mae"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "report.md", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "plots/learning_curve.png" in plots
    [model] = client.search_logged_models([run.info.experiment_id])  # native model logging
    assert model.source_run_id == run.info.run_id
    assert (
        first.asset_materializations_for_node("trained_model")[0].metadata["mlflow_model"].value
        == "logged model"
    )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project_dir(), capture_output=True, text=True, check=True
    ).stdout.strip()
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags[run_tags.GIT_DIRTY] in ("true", "false")
    assert tags["dagster_run_id"] == first.run_id
    assert tags[run_tags.PR_NUMBER] == "7"
    assert tags[run_tags.CI_RUN_URL].endswith("/octo/retrain/actions/runs/4242")
    assert tags[run_tags.DATA_HASH] == report.data_hash
    assert report.mlflow_run_url == (
        f"{mlflow3_server.url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    )
    assert report.baseline is None  # nothing on main before the first run
    # The second run's baseline is the first run, read back with its metrics and params.
    baseline = again.output_for_node("metrics_report").baseline
    assert baseline.run_id == run.info.run_id
    assert baseline.metrics["test_mae"] == pytest.approx(report.metrics["test_mae"])
    assert baseline.params["train.epochs"] == "3"
    assert baseline.commit == commit
    # Its held-out predictions came back from the server: the comparison is paired.
    assert again.output_for_node("metrics_report").paired.rows == 89
    # Asked later: the latest finished run, unless excluded; nothing for another branch.
    second = the_run(client, "mlflow3", again.run_id).info.run_id
    assert tracking.baseline("main").run_id == second
    assert tracking.baseline("main", exclude_run_id=second).run_id == run.info.run_id
    assert tracking.baseline("release") is None


@pytest.mark.pipeline
def test_a_failing_step_ends_the_run_failed_and_names_the_asset(
    tmp_path, mlflow3_server, monkeypatch
):
    from mlflow import MlflowClient

    @asset
    def broken(context, tracking: MlflowTracking):
        with tracking.run(context) as mlf:
            mlf.log_param("reached", "yes")
            raise ValueError("boom")

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", mlflow3_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", mlflow3_server.password)
    tracking = MlflowTracking(tracking_uri=mlflow3_server.url, experiment_name="failing")

    result = materialize([broken], resources={"tracking": tracking}, raise_on_error=False)

    assert not result.success
    run = the_run(MlflowClient(mlflow3_server.url), "failing", result.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags[run_tags.FAILED_ASSET] == "broken"
    assert run.data.params["reached"] == "yes"


def test_a_wrong_password_fails_before_training_naming_server_and_variables(
    workspace, mlflow3_server, monkeypatch, caplog
):
    secret = "wrong-password-7c1d9e"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow3_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", mlflow3_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", secret)

    result, instance = run_graph(workspace, MlflowTracking.from_env(experiment_name="refused"))

    assert not result.success
    message = failure_message(result)
    assert mlflow3_server.url in message
    assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in message
    assert not list(workspace.artifacts.rglob("*.keras"))  # refused before training
    assert secret not in caplog.text
    assert secret not in event_log_text(instance, result.run_id)


def test_a_server_that_is_down_fails_fast_naming_it_and_the_variable(workspace, monkeypatch):
    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", down)

    result, _ = run_graph(workspace, MlflowTracking.from_env(experiment_name="down"))

    assert not result.success
    message = failure_message(result)
    assert f"{down} is unreachable" in message and "MLFLOW_TRACKING_URI" in message
    assert not list(workspace.artifacts.rglob("*.keras"))


# --- DagsHub: the MLflow 2.x line behind <host>/<owner>/<repo>.mlflow with a token ----------------


def dagshub_env(monkeypatch, server, token):
    monkeypatch.setenv("DAGSHUB_REPO_OWNER", server.owner)
    monkeypatch.setenv("DAGSHUB_REPO_NAME", server.repo)
    monkeypatch.setenv("DAGSHUB_USER_TOKEN", token)
    monkeypatch.setenv("DAGSHUB_CLIENT_HOST", server.host)


@pytest.mark.pipeline
def test_a_run_on_dagshubs_mlflow_2_line_records_curves_and_the_model_as_artifacts(
    workspace, dagshub_server, monkeypatch, caplog, capfd
):
    from mlflow import MlflowClient

    dagshub_env(monkeypatch, dagshub_server, dagshub_server.token)

    tracking = MlflowTracking.from_env(experiment_name="dagshub")
    result, instance = run_graph(workspace, tracking)
    again, _ = run_graph(workspace, tracking, selection=["metrics_report"])

    assert result.success, failure_message(result)
    # The baseline's held-out predictions download from the 2.x server: compared paired.
    assert again.output_for_node("metrics_report").paired.rows == 89
    client = MlflowClient(dagshub_server.upstream)  # read back behind the proxy
    run = the_run(client, "dagshub", result.run_id)
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [0, 1, 2]
    assert "test_mae" in run.data.metrics
    # MLflow 3's list_artifacts(run, path) searches logged models, which 2.x servers lack: ask
    # the server's own artifacts API.
    listed = requests.get(
        f"{dagshub_server.upstream}/api/2.0/mlflow/artifacts/list",
        params={"run_id": run.info.run_id, "path": "model"},
        timeout=30,
    ).json()
    assert "model/MLmodel" in {f["path"] for f in listed["files"]}
    assert (
        result.asset_materializations_for_node("trained_model")[0].metadata["mlflow_model"].value
        == "run artifacts"
    )
    assert result.output_for_node("metrics_report").mlflow_run_url == (
        f"{dagshub_server.host}/{dagshub_server.owner}/{dagshub_server.repo}"
        f"/experiments/#/experiment/m_{run.info.run_id}"
    )
    token = dagshub_server.token
    leaked = {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}
    assert not leaked & set(os.environ)  # credentials only while MLflow calls run
    assert token not in caplog.text
    assert token not in "".join(capfd.readouterr())
    assert token not in event_log_text(instance, result.run_id)
    assert token not in repr((run.data.tags, run.data.params))


def test_a_wrong_dagshub_token_names_the_token_variable_and_is_never_logged(
    workspace, dagshub_server, monkeypatch, caplog, capfd
):
    secret = "dh-wrong-token-0a8f3b"
    dagshub_env(monkeypatch, dagshub_server, secret)

    result, instance = run_graph(
        workspace, MlflowTracking.from_env(experiment_name="dagshub-refused")
    )

    assert not result.success
    message = failure_message(result)
    assert f"{dagshub_server.tracking_uri} refused the credentials" in message
    assert "DAGSHUB_USER_TOKEN" in message
    assert secret not in caplog.text
    assert secret not in "".join(capfd.readouterr())
    assert secret not in event_log_text(instance, result.run_id)


@pytest.mark.pipeline
def test_when_the_model_upload_fails_after_training_the_error_says_where_the_model_is(
    workspace, dagshub_server, monkeypatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail now, not after backoff
    with dagshub_proxy(
        dagshub_server.upstream, dagshub_server.token, reject="/api/2.0/mlflow-artifacts/"
    ) as host:  # the server answers, but its artifact store is down
        dagshub_env(monkeypatch, dagshub_server, dagshub_server.token)
        monkeypatch.setenv("DAGSHUB_CLIENT_HOST", host)
        result, _ = run_graph(workspace, MlflowTracking.from_env(experiment_name="upload-fails"))

    assert not result.success
    [model] = workspace.artifacts.rglob("model.keras")
    message = failure_message(result)
    assert "could not log the model" in message
    assert f"the trained model is saved at {model}" in message
    assert result.get_step_failure_events()[0].step_key == "trained_model"

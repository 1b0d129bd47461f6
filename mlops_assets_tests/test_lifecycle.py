"""The model's life after the pull request, against real MLflow registries: versions, the
champion alias moved on merge, the ledger, rollback, and serving ``models:/<name>@champion``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance

from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.defs.rollback import restored_run_dir, rollback_job
from mlops_assets.git.checkout import uncommitted_sources
from mlops_assets.modeling.keras_model import load_model, predict
from mlops_assets.promotion import (
    CANDIDATE,
    CHAMPION,
    NOT_REGISTERED,
    RollbackError,
    decide,
    merged_pull_request,
    rollback_target,
)
from mlops_assets.records import ModelVersion, Promotion
from mlops_assets_tests.conftest import SAMPLE_CSV, run_config
from mlops_assets_tests.support.git_repo import GitRepo
from mlops_assets_tests.support.tracking_servers import DAGSHUB_OWNER

REPO = Path(__file__).resolve().parents[1]
PR_ENV = {
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_HEAD_REF": "feature",
    "GITHUB_BASE_REF": "main",
}
GOOD = {"epochs": 12}  # better than the conftest's 3 epochs on the sample
WORSE = {"epochs": 1, "learning_rate": 0.0005}  # far worse than any champion, beyond noise


# --- the rules, without a registry -------------------------------------------------------------


def test_only_a_clean_passing_run_of_the_champion_branch_outside_a_pull_request_promotes():
    base = {"gate_passed": True, "branch": "main", "champion_branch": "main", "dirty": False}
    assert decide(**base, pr_number=None).role == CHAMPION
    pr = decide(**base, pr_number="7")
    assert (pr.role, pr.alias) == (CANDIDATE, "pr-7")
    assert decide(**{**base, "dirty": True}, pr_number=None).role == CANDIDATE
    assert decide(**{**base, "branch": "feature"}, pr_number=None).role == CANDIDATE
    assert decide(**{**base, "dirty": None}, pr_number=None).role == CANDIDATE
    refused = decide(**{**base, "gate_passed": False}, pr_number=None)
    assert refused.role == NOT_REGISTERED and "quality gate" in refused.why


def test_merge_commit_subjects_name_their_pull_request():
    assert merged_pull_request("Merge pull request #12 from octo/feature") == "12"
    assert merged_pull_request("Faster training (#31)") == "31"
    assert merged_pull_request("Fix #4 in the README") == ""


def test_the_pipelines_own_outputs_do_not_make_a_checkout_dirty(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"params.yaml": "a: 1\n", "artifacts/dvc/metrics.json": "{}"})
    artifacts = repo.path / "artifacts"
    assert uncommitted_sources(repo.path, artifacts) is False
    (artifacts / "dvc" / "metrics.json").write_text('{"mae": 1}')  # every promotion rewrites it
    assert uncommitted_sources(repo.path, artifacts) is False
    (repo.path / "params.yaml").write_text("a: 2\n")
    assert uncommitted_sources(repo.path, artifacts) is True
    assert uncommitted_sources(tmp_path, tmp_path / "artifacts") is None  # not a checkout


def _move(seq, version, replaced):
    return Promotion(seq, version, replaced, "2026-12-01T00:00:00+00:00", "r", "c", "merge")


def test_rollback_goes_to_the_champion_the_current_one_replaced_or_says_why_not():
    v1, v2 = ModelVersion("m", "1", "a"), ModelVersion("m", "2", "b")
    ledger = [_move(1, "1", None), _move(2, "2", "1")]
    assert rollback_target(ledger, v2, "", ["1", "2"]) == "1"
    assert rollback_target(ledger, v2, "v1", ["1", "2"]) == "1"
    with pytest.raises(RollbackError, match="replaced no earlier champion"):
        rollback_target(ledger[:1], v1, "", ["1"])
    with pytest.raises(RollbackError, match=r"version 9 does not exist \(versions: v1, v2\)"):
        rollback_target(ledger, v2, "9", ["1", "2"])
    with pytest.raises(RollbackError, match="no champion yet"):
        rollback_target([], None, "", [])


# --- the lifecycle, end to end -------------------------------------------------------------------


class Project:
    """A committed project (params.yaml, the sample) whose runs go to ``tracking``; runs are
    launched in-process like the CLI's, with GitHub's variables as Actions sets them."""

    def __init__(self, root: Path, workspace, tracking: MlflowTracking, monkeypatch):
        self.repo = GitRepo(root)
        self.repo.commit(
            {
                "params.yaml": (REPO / "params.yaml").read_text(),
                "data/diabetes.csv": SAMPLE_CSV.read_text(),
            },
            "the project",
        )
        monkeypatch.setenv("MLOPS_ASSETS_PROJECT_DIR", str(root))
        monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
        self.workspace = workspace
        self.tracking = tracking
        self.monkeypatch = monkeypatch
        workspace.resources["tracking"] = tracking

    def run(self, train: dict | None = None, env: dict | None = None):
        for name in ("GITHUB_REF", "GITHUB_HEAD_REF", "GITHUB_BASE_REF"):
            self.monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            self.monkeypatch.setenv(name, value)
        result = self.workspace.materialize(config=run_config(train=train), raise_on_error=False)
        return result, result.output_for_node("model_version")

    def rollback(self, version: str = ""):
        config = {"ops": {"rollback_champion": {"config": {"version": version}}}}
        return rollback_job.execute_in_process(
            run_config=config,
            resources={
                "tracking": self.tracking,
                "artifacts": self.workspace.resources["artifacts"],
            },
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )

    def comment(self) -> str:
        return (self.workspace.artifacts / "pr_comment.md").read_text()


def lifecycle(project: Project) -> None:
    """The acceptance scenario of the lifecycle issue, on whichever registry ``project`` uses."""
    tracking, latest = project.tracking, project.workspace.latest

    first, reg = project.run()
    assert first.success
    assert (reg.role, reg.version.version, reg.promoted.replaced) == (CHAMPION, "1", None)
    assert tracking.champion().version == "1"
    v1_model = (latest / "model.keras").read_bytes()
    v1 = tracking.champion()
    assert v1.pr_number == "" and v1.commit == project.repo.head()
    assert v1.dagster_run_id == first.run_id and v1.interval is not None
    assert "**Promoted:** v1 is the champion" in project.comment()
    # The model card is the version's description, and the comment links the version's page.
    with mlflow_env(tracking):
        described = mlflow.MlflowClient().get_model_version(tracking.model_name, "1").description
    assert described == (latest / "model_card.md").read_text()
    assert described.startswith("# Model card: target (regression)")
    assert f"[model card]({reg.url})" in project.comment()

    pr, reg = project.run({"learning_rate": 0.021}, PR_ENV)
    assert pr.success
    assert (reg.role, reg.version.version, reg.alias) == (CANDIDATE, "2", "pr-7")
    assert tracking.champion().version == "1"  # a pull request never moves it
    assert pr.output_for_node("metrics_report").baseline.source.startswith(
        "the champion, version 1 of"
    )
    comment = project.comment()
    assert "merging would replace champion v1 (test_mae " in comment
    assert f"commit {project.repo.head()[:7]})" in comment

    project.repo.commit({}, "Merge pull request #8 from octo/better")
    better, reg = project.run(GOOD)
    assert better.success
    assert (reg.role, reg.version.version, reg.promoted.replaced) == (CHAMPION, "3", "1")
    assert reg.version.pr_number == "8"
    v3_mae = reg.version.metrics["test_mae"]
    [first_move, second_move] = tracking.ledger()
    assert (first_move.version, second_move.version, second_move.replaced) == ("1", "3", "1")
    assert second_move.deltas["test_mae"] == pytest.approx(v3_mae - v1.metrics["test_mae"])

    worse, reg = project.run(WORSE)
    assert not worse.output_for_node("metrics_report").gate_passed
    assert reg.role == NOT_REGISTERED and reg.version is None
    assert "**Would not be promoted:** the quality gate refused the model." in project.comment()
    assert tracking.champion().version == "3"
    assert [v.version for v in tracking.versions()] == ["1", "2", "3"]

    back = project.rollback()
    assert back.success
    assert tracking.champion().version == "1"
    assert (latest / "model.keras").read_bytes() == v1_model
    moves = tracking.ledger()
    assert [(m.version, m.replaced) for m in moves] == [("1", None), ("3", "1"), ("1", "3")]
    assert moves[-1].reason == "rollback from v3"
    [seen] = back.asset_observations_for_node("rollback_champion")
    assert seen.asset_key.path == ["model_version"]
    assert (seen.metadata["champion"].value, seen.metadata["replaced"].value) == ("v1", "v3")

    served = pd.read_csv(SAMPLE_CSV).drop(columns=["target"]).head(5)
    uri = f"models:/{tracking.model_name}@champion"
    with mlflow_env(tracking):
        predictions = mlflow.pyfunc.load_model(uri).predict(served)
        keras_model = mlflow.keras.load_model(uri)
    expected = predict(load_model(latest / "model.keras"), served)
    assert len(predictions) == 5
    assert np.asarray(predictions).ravel() == pytest.approx(expected.ravel(), rel=1e-5)
    assert predict(keras_model, served).ravel() == pytest.approx(expected.ravel(), rel=1e-5)

    # The next pull request is compared with the restored champion.
    _, reg = project.run({"learning_rate": 0.019}, PR_ENV)
    assert reg.champion_before.version == "1"
    assert "merging would replace champion v1" in project.comment()


def mlflow_env(tracking: MlflowTracking):
    from mlops_assets.tracking import mlflow_client

    return mlflow_client.connected(tracking.location())


@pytest.mark.pipeline
def test_champion_pr_candidates_ledger_and_rollback_on_an_mlflow3_server(
    tmp_path, workspace, mlflow3_server, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", mlflow3_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", mlflow3_server.password)
    tracking = MlflowTracking(tracking_uri=mlflow3_server.url, experiment_name="lifecycle")
    lifecycle(Project(tmp_path / "project", workspace, tracking, monkeypatch))


@pytest.mark.pipeline
def test_champion_pr_candidates_ledger_and_rollback_on_dagshubs_mlflow_2_line(
    tmp_path, workspace, dagshub_server, monkeypatch
):
    monkeypatch.setenv("DAGSHUB_REPO_OWNER", DAGSHUB_OWNER)
    monkeypatch.setenv("DAGSHUB_REPO_NAME", dagshub_server.repo)
    monkeypatch.setenv("DAGSHUB_USER_TOKEN", dagshub_server.token)
    monkeypatch.setenv("DAGSHUB_CLIENT_HOST", dagshub_server.host)
    tracking = MlflowTracking.from_env(experiment_name="lifecycle")
    lifecycle(Project(tmp_path / "project", workspace, tracking, monkeypatch))


@pytest.mark.pipeline
def test_rollback_with_nothing_to_roll_back_to_fails_clearly_and_changes_nothing(
    tmp_path, workspace, monkeypatch
):
    project = Project(tmp_path / "project", workspace, workspace.resources["tracking"], monkeypatch)
    project.run()
    before = (workspace.latest.resolve(), project.tracking.ledger())

    # As a user runs it: the Dagster CLI, the code location configured by the environment.
    (tmp_path / "home").mkdir()
    cli = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "mlops_assets", "-j", "rollback"],
        cwd=REPO,
        env={
            **os.environ,
            "DAGSTER_HOME": str(tmp_path / "home"),
            "MLOPS_ASSETS_ARTIFACTS_DIR": str(workspace.artifacts),
            "MLFLOW_TRACKING_URI": workspace.tracking_uri,
            "MLFLOW_EXPERIMENT_NAME": "tests",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode != 0
    assert "cannot roll back 'tests': champion v1 replaced no earlier champion" in (
        cli.stdout + cli.stderr
    )
    missing = project.rollback("7")
    assert not missing.success
    [failure] = [e for e in missing.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "version 7 does not exist (versions: v1)" in message and "nothing was changed" in message
    assert project.tracking.champion().version == "1"
    assert (workspace.latest.resolve(), project.tracking.ledger()) == before


def test_the_code_location_loads_with_the_rollback_job():
    """The daemon and the webserver load every definition; op and job names must not clash."""
    from mlops_assets.definitions import defs

    repository = defs.get_repository_def()
    repository.load_all_definitions()
    assert {"retrain", "rollback"} <= {job.name for job in repository.get_all_jobs()}


@pytest.mark.pipeline
def test_a_pruned_run_directory_is_restored_from_the_registry(tmp_path, workspace, monkeypatch):
    project = Project(tmp_path / "project", workspace, workspace.resources["tracking"], monkeypatch)
    _, registration = project.run()
    version = registration.version
    own = workspace.latest.resolve()
    rows = pd.read_csv(SAMPLE_CSV).drop(columns=["target"]).head(5)
    expected = predict(load_model(own / "model.keras"), rows)
    workspace.latest.unlink()
    shutil.rmtree(own)  # pruned: the files must come back from MLflow

    store = workspace.resources["artifacts"].store
    restored = restored_run_dir(version, store, project.tracking, "restoring-run")

    assert restored == store.root_path / "runs" / "restoring-run"
    assert store.is_complete(restored)
    # MLflow saved its own copy of the same model: the same predictions, not the same bytes.
    assert predict(load_model(restored / "model.keras"), rows) == pytest.approx(expected, rel=1e-6)
    assert (restored / "plots" / "learning_curve.png").is_file()

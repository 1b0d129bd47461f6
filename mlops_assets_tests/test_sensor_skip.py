"""The git sensor skips a commit that changes watched paths but no fingerprint: the fingerprints
it predicts from the project's files are the ones a real run records."""

from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, RunRequest, build_sensor_context, materialize

from mlops_assets import run_tags, settings
from mlops_assets.defs.predicted import predicted_fingerprints, recorded_fingerprints
from mlops_assets.defs.sensors import drop_unchanged, git_changes_sensor
from mlops_assets_tests.conftest import ALL_ASSETS, FAST_TRAIN, SAMPLE_CSV, run_config
from mlops_assets_tests.support.git_repo import GitRepo

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path, monkeypatch) -> GitRepo:
    """A committed project whose params.yaml holds the tests' few-epoch training."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"].update(FAST_TRAIN)
    repo = GitRepo(tmp_path / "project")
    repo.commit(
        {"params.yaml": yaml.safe_dump(params), "data/diabetes.csv": SAMPLE_CSV.read_text()}
    )
    monkeypatch.setenv("MLOPS_ASSETS_PROJECT_DIR", str(repo.path))
    monkeypatch.setenv(settings.WATCH_REPO, str(repo.path))
    monkeypatch.setenv(settings.WATCH_BRANCHES, "main")
    return repo


def test_a_commit_that_changes_no_fingerprint_is_skipped_and_one_that_does_retrains(
    project, workspace
):
    with DagsterInstance.ephemeral() as instance:
        watching = git_changes_sensor(build_sensor_context(instance=instance))
        run = materialize(
            ALL_ASSETS,
            instance=instance,
            resources=workspace.resources,
            run_config=run_config(),
            tags={run_tags.BRANCH: "main"},  # as the sensor tags the runs it requests
        )
        assert run.success
        recorded, run_id = recorded_fingerprints(instance)
        assert predicted_fingerprints(project.path) == recorded and run_id == run.run_id

        params = (project.path / "params.yaml").read_text()
        project.commit({"params.yaml": params + "# a note for reviewers\n"}, "comment only")
        skipped = git_changes_sensor(
            build_sensor_context(instance=instance, cursor=watching.cursor)
        )

        assert not skipped.run_requests
        reason = skipped.skip_reason.skip_message
        assert "main: params.yaml changed at" in reason
        assert f"fingerprints equal those of run {run.run_id[:8]}" in reason

        other_branch = RunRequest(
            run_key="c0ffee", tags={run_tags.BRANCH: "dev", run_tags.CHANGED_PATHS: "x"}
        )
        assert drop_unchanged(instance, [other_branch]) == ([other_branch], [])

        changed = yaml.safe_load(params)
        changed["train"]["epochs"] = FAST_TRAIN["epochs"] + 1
        project.commit({"params.yaml": yaml.safe_dump(changed)}, "one more epoch")
        retrain = git_changes_sensor(build_sensor_context(instance=instance, cursor=skipped.cursor))

        [request] = retrain.run_requests
        assert request.tags[run_tags.CHANGED_PATHS] == "params.yaml"
        assert predicted_fingerprints(project.path)["trained_model"] != recorded["trained_model"]

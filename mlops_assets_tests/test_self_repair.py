"""A damaged state repairs itself: a stored output truncated or overwritten is computed again
with a warning, a run directory deleted by hand is trained again, and a dangling
``artifacts/latest`` points at the last complete run again."""

import shutil

import pytest

from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.params import FAST

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout


def reused(project: CliProject, asset: str) -> bool:
    from dagster import AssetKey

    with project.instance() as instance:
        event = instance.get_latest_materialization_event(AssetKey(asset))
    return event.asset_materialization.metadata["reused"].value


def test_damaged_stored_outputs_and_a_deleted_run_directory_are_computed_again(tmp_path):
    project = CliProject(tmp_path / "project", train=FAST)
    first = project.run()
    assert first.returncode == 0, first.output[-3000:]
    first_run = (project.artifacts / "latest").resolve()
    stored = project.artifacts / "storage" / "runs" / first_run.name
    model = stored / "trained_model.pickle"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])  # truncated
    (stored / "features.pickle").write_bytes(b"\x80\x05noise" * 50)  # overwritten
    (project.artifacts / "prelaunch.json").unlink()  # else nothing changed: nothing launches

    second = project.run()

    assert second.returncode == 0, second.output[-3000:]
    assert "WARNING features: cannot restore features" in second.output
    assert "WARNING trained_model: cannot restore trained_model" in second.output
    assert not reused(project, "features") and not reused(project, "trained_model")
    assert reused(project, "raw_data")

    # The report was reused (same fingerprint): latest is still the first run's set.
    assert (project.artifacts / "latest").resolve() == first_run
    shutil.rmtree(first_run)  # deleted by hand: latest dangles, its report's files are gone
    third = project.run()

    assert third.returncode == 0, third.output[-3000:]
    assert f"pointed at runs/{first_run.name}, which is gone or incomplete" in third.output
    assert not reused(project, "metrics_report")
    assert RunArtifacts(project.artifacts).is_complete(project.artifacts / "latest")


def test_a_dangling_latest_points_at_the_last_complete_run_again(workspace):
    store = RunArtifacts(workspace.artifacts)
    older = workspace.materialize()
    newer = workspace.materialize()
    assert store.latest.resolve().name == newer.run_id
    shutil.rmtree(store.latest.resolve())

    raw_only = workspace.materialize(selection=["raw_data"])  # promotes nothing itself

    assert raw_only.success
    assert store.latest.resolve().name == older.run_id
    assert store.is_complete(store.latest)
    assert (workspace.artifacts / "dvc" / "metrics.json").read_bytes() == (
        store.latest / "metrics.json"
    ).read_bytes()

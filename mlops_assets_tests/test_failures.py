"""Nothing is lost on failure: the last good model and report stay exactly as they were."""

from pathlib import Path

import pytest

from mlops_assets_tests.conftest import run_config
from mlops_assets_tests.support.snapshots import snapshot

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout


@pytest.fixture
def promoted(workspace):
    """A workspace with one good run promoted to ``latest``."""
    assert workspace.materialize().success
    return snapshot(workspace.latest)


def test_a_crash_while_saving_the_model_leaves_latest_intact(workspace, promoted, monkeypatch):
    import keras

    def crash_mid_save(model, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a model")
        raise OSError("No space left on device")

    monkeypatch.setattr(keras.Model, "save", crash_mid_save)
    result = workspace.materialize(raise_on_error=False)

    assert not result.success
    assert snapshot(workspace.latest) == promoted
    failed_run_dir = workspace.artifacts / "runs" / result.run_id
    assert not any(failed_run_dir.glob("*model*")), "no partial model may be left behind"


def test_a_failure_while_reporting_leaves_latest_intact(workspace, promoted, monkeypatch):
    import mlops_assets.report.plots as plots_module

    def broken_plots(*args, **kwargs):
        raise RuntimeError("matplotlib backend exploded")

    monkeypatch.setattr(plots_module, "task_plots", broken_plots)
    result = workspace.materialize(raise_on_error=False)

    assert not result.success
    assert snapshot(workspace.latest) == promoted


def test_bad_data_fails_before_anything_is_written(workspace, promoted, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("age,target\n1,2\n")
    result = workspace.materialize(config=run_config(data={"path": str(bad)}), raise_on_error=False)

    assert not result.success
    error = str(result.get_step_failure_events()[0].event_specific_data.error)
    assert f"{bad}: 1 data rows" in error
    assert snapshot(workspace.latest) == promoted
    assert not (workspace.artifacts / "runs" / result.run_id).exists()

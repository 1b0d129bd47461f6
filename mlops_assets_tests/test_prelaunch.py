"""``mlops-assets run`` launches nothing when nothing changed since its last successful run,
and launches whenever the data, a parameter, the code or the settings did."""

import time

import pytest
from dagster import AssetKey

from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.params import FAST

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

LAUNCHED = "trained_model:"  # a step's line: only a launched run prints one


def observations(project: CliProject) -> list:
    with project.instance() as instance:
        result = instance.fetch_observations(AssetKey("metrics_report"), limit=10)
    return [record.event_log_entry.asset_observation for record in result.records]


def test_an_unchanged_project_launches_nothing_and_any_change_launches(tmp_path):
    project = CliProject(tmp_path / "project", train=FAST)
    first = project.run()
    assert first.returncode == 0 and LAUNCHED in first.output, first.output[-3000:]
    run_id = (project.artifacts / "latest").resolve().name

    again = project.run()

    assert again.returncode == 0
    assert f"nothing changed since run {run_id}" in again.output
    assert LAUNCHED not in again.output
    assert f"{project.artifacts / 'latest'} points at this run" in again.output  # its summary again
    with project.instance() as instance:
        assert len(instance.get_runs()) == 1
    deadline = time.monotonic() + 60  # recorded in the background
    while not observations(project) and time.monotonic() < deadline:
        time.sleep(0.5)
    [observation] = observations(project)
    assert observation.metadata["unchanged_since_run"].value == run_id

    forced = project.run("--force")
    assert forced.returncode == 0 and LAUNCHED in forced.output

    project.set_params("train", epochs=FAST["epochs"] + 1)
    assert LAUNCHED in project.run().output
    assert "nothing changed" in project.run().output

    csv = project.root / "data" / "diabetes.csv"
    csv.write_text(csv.read_text() + csv.read_text().splitlines()[-1] + "\n")
    assert LAUNCHED in project.run().output

    assert LAUNCHED in project.run(MLOPS_ASSETS_COMMENT_ON="local").output  # a setting

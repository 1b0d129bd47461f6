"""Issue 27's sweep, through the CLI as a user runs it: one Dagster run, nested MLflow runs
whose trials overlap in time, and a comment with the trials and the winner's verdict."""

import json
import re

import pytest
import yaml

from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.git_repo import GitRepo
from mlops_assets_tests.support.params import FAST

pytestmark = pytest.mark.pipeline

RATES = ["0.002", "0.005", "0.01"]


def _project(tmp_path) -> CliProject:
    """FAST params with `sweep: {parallel: 2}` (settings only: no grid, so no sweep yet), in a
    git repository on main, so a plain run becomes the baseline."""
    project = CliProject(tmp_path, train=FAST)
    path = tmp_path / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["sweep"] = {"parallel": 2}
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    repo = GitRepo(tmp_path)
    ignored = "dagster_home/\nartifacts/\nmlflow.db\nmlruns/\n"
    repo.commit({".gitignore": ignored}, "ignore outputs")
    repo.git("add", "params.yaml", "data")
    repo.git("commit", "--quiet", "-m", "project")
    return project


def _overlap(a, b) -> bool:
    return a.info.start_time < b.info.end_time and b.info.start_time < a.info.end_time


@pytest.mark.slow(reason="a plain run, then a sweep whose every step is a process of its own")
def test_a_three_value_sweep_is_one_run_with_nested_overlapping_trials_and_one_verdict(tmp_path):
    project = _project(tmp_path)
    plain = project.run()
    assert plain.returncode == 0, plain.output[-3000:]
    assert "trained_model.sweep" not in plain.output  # no grid: a run as always
    assert "sweep:" not in plain.output

    swept = project.run("--force", "--sweep", f"train.learning_rate={','.join(RATES)}")
    assert swept.returncode == 0, swept.output[-4000:]
    assert "sweep: 3 trials, up to 2 at once" in swept.output
    # The run's summary (read back from its stored outputs) ends on the winner's held-out MAE.
    mae = json.loads((project.artifacts / "latest" / "metrics.json").read_text())["test_mae"]
    assert f"test_mae {mae:.4g} (95% interval " in swept.output, swept.output[-2000:]

    # One Dagster run for the whole sweep, a step per trial.
    runs = project.instance().get_runs()
    assert len(runs) == 2
    sweep_run = runs[0]  # newest first
    steps = {
        event.step_key
        for event in project.instance().all_logs(sweep_run.run_id)
        if event.step_key and event.dagster_event and event.dagster_event.is_step_success
    }
    assert {f"trained_model.sweep_trial[{i}]" for i in range(3)} <= steps

    # One MLflow parent with three children, two of them at the same time.
    from mlflow import MlflowClient

    client = MlflowClient(project.environment()["MLFLOW_TRACKING_URI"])
    experiments = [e.experiment_id for e in client.search_experiments()]
    parents = client.search_runs(experiments, f"tags.dagster_run_id = '{sweep_run.run_id}'")
    assert len(parents) == 1
    parent = parents[0]
    assert parent.data.params["sweep.train.learning_rate"] == "[0.002, 0.005, 0.01]"
    children = client.search_runs(
        experiments, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert sorted(c.data.params["train.learning_rate"] for c in children) == RATES
    assert all(c.info.status == "FINISHED" for c in children)
    assert all(len(client.get_metric_history(c.info.run_id, "train_loss")) == 3 for c in children)
    pairs = [(a, b) for i, a in enumerate(children) for b in children[i + 1 :]]
    assert any(_overlap(a, b) for a, b in pairs), [
        (c.info.start_time, c.info.end_time) for c in children
    ]

    # The winner is the child with the best validation MAE; the parent holds its value.
    best = min(children, key=lambda c: c.data.metrics["best_val_mae"])
    assert parent.data.metrics["best_val_mae"] == pytest.approx(best.data.metrics["best_val_mae"])
    assert parent.data.params["train.learning_rate"] == best.data.params["train.learning_rate"]

    # The comment: the three values, the winner marked, its verdict against the baseline.
    comment = (project.artifacts / "pr_comment.md").read_text()
    table = comment[comment.index("### Sweep") : comment.index("Quality gate")]
    for rate in RATES:
        assert f"`{rate}`" in table
    winner_row = next(line for line in table.splitlines() if "🏆 |" in line)
    assert f"`{best.data.params['train.learning_rate']}`" in winner_row
    assert "no baseline yet" not in comment
    verdict = r"\*\*test_mae\*\* ↓ = \*\*[\d.]+\*\* \(baseline [\d.]+, "
    assert re.search(verdict, comment), comment[:1500]
    assert comment.index("### Sweep") < comment.index("Quality gate")

    # The UI shows the same table on the asset.
    from dagster import AssetKey

    event = project.instance().get_latest_materialization_event(AssetKey("trained_model"))
    assert event.run_id == sweep_run.run_id
    assert event.asset_materialization.metadata["trials"].value.strip() in comment


FLAKY_BUILDER = """\
from pathlib import Path

import keras


def build(spec):
    marker = Path(__file__).parent / "fail_once"
    if spec.args["units"] == 16 and marker.exists():
        marker.unlink()
        raise RuntimeError("flaky trial")
    layers = [keras.layers.Dense(spec.args["units"], activation="relu"), keras.layers.Dense(1)]
    return keras.Sequential(layers)
"""

REEXECUTE = """\
import sys

from dagster import DagsterInstance, ReexecutionOptions, execute_job, reconstructable

from mlops_assets.definitions import retrain_job


def main():
    with DagsterInstance.get() as instance:
        options = ReexecutionOptions.from_failure(sys.argv[1], instance)
        recon = reconstructable(retrain_job)
        with execute_job(recon, instance=instance, reexecution_options=options) as result:
            steps = sorted({e.step_key for e in result.all_events if e.is_step_success})
            print("RESULT", result.success, ",".join(steps))


if __name__ == "__main__":  # the step processes import this module again
    main()
"""


@pytest.mark.slow(reason="a sweep whose trial fails, then Dagster's re-execution from failure")
def test_a_failed_trial_is_retried_alone_by_reexecuting_from_failure(tmp_path):
    import subprocess
    import sys

    from mlops_assets_tests.support.cli_project import REPO

    project = CliProject(tmp_path, train={**FAST, "epochs": 2, "model": "models.flaky:build"})
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "flaky.py").write_text(FLAKY_BUILDER)
    (tmp_path / "models" / "fail_once").touch()
    path = tmp_path / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["train"]["model_args"] = {"units": 8}
    params["sweep"] = {"parallel": 2, "grid": {"train.model_args": [{"units": 8}, {"units": 16}]}}
    path.write_text(yaml.safe_dump(params, sort_keys=False))

    failed = project.run("--force")
    assert failed.returncode == 1 and "flaky trial" in failed.output
    [run] = project.instance().get_runs()

    (tmp_path / "reexecute.py").write_text(REEXECUTE)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "reexecute.py"), run.run_id],
        cwd=REPO,
        env=project.environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    [result] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    _, success, steps = result.split(" ")
    assert success == "True", done.stderr[-3000:]
    assert "trained_model.sweep_trial[1]" in steps.split(",")
    assert "trained_model.sweep_trial[0]" not in steps.split(",")  # it succeeded: kept
    assert "trained_model.sweep_plan" not in steps.split(",")
    comment = (project.artifacts / "pr_comment.md").read_text()
    assert '`{"units":8}`' in comment and '`{"units":16}`' in comment

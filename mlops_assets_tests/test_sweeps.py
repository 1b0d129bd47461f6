"""Declaring a sweep: the trials it makes, what is refused before anything runs (the key named),
the choice on validation rows, the trials table, and the lock a sweep's steps share."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_assets.artifacts.lock import held_for, project_lock
from mlops_assets.params import ParamsError, SweepParams, TrainParams, load_params
from mlops_assets.records import SweepOutcome, TrialResult
from mlops_assets.report.metrics import TASK_METRICS, base_name
from mlops_assets.report.trials import trials_section
from mlops_assets.settings import project_dir
from mlops_assets.sweeps import MAX_TRIALS, declared, parse_cli, plan_trials

REPO = Path(__file__).resolve().parents[1]
BASE = TrainParams(
    epochs=3,
    batch_size=32,
    learning_rate=0.01,
    hidden_layers=[8],
    model=None,
    model_args={},
    validation_fraction=0.2,
    early_stopping_patience=0,
)


def plan(grid=None, task="regression", base=BASE, **more):
    return plan_trials(SweepParams(grid=grid or {}, **more), base, task)


def test_a_grid_makes_every_combination_each_numbered_and_seeded_from_its_index():
    swept = plan({"train.learning_rate": [0.002, 0.01], "train.hidden_layers": [[32], [64, 32]]})
    assert [t.values for t in swept.trials] == [
        {"train.learning_rate": 0.002, "train.hidden_layers": [32]},
        {"train.learning_rate": 0.002, "train.hidden_layers": [64, 32]},
        {"train.learning_rate": 0.01, "train.hidden_layers": [32]},
        {"train.learning_rate": 0.01, "train.hidden_layers": [64, 32]},
    ]
    assert [t.seed(42) for t in swept.trials] == [42, 43, 44, 45]
    assert swept.trials[3].hyperparameters(BASE).hidden_layers == [64, 32]
    assert swept.trials[3].hyperparameters(BASE).epochs == 3  # the rest as params.yaml says
    assert swept.metric == "mae" and not swept.higher_is_better  # the task's headline
    assert swept.parallel == os.cpu_count()
    assert swept.as_params()["sweep.train.hidden_layers"] == "[[32], [64, 32]]"


def test_random_draws_are_seeded_within_their_ranges_and_integers_stay_whole():
    spec = {
        "n": 5,
        "seed": 7,
        "train.learning_rate": {"low": 1e-4, "high": 1e-1, "log": True},
        "train.batch_size": {"low": 8, "high": 64},
    }
    first = plan(random=spec)
    assert len(first.trials) == 5
    assert first.trials == plan(random=spec).trials  # seeded: the same draws again
    for trial in first.trials:
        assert 1e-4 <= trial.values["train.learning_rate"] <= 1e-1
        assert isinstance(trial.values["train.batch_size"], int)
    both = plan({"train.hidden_layers": [[8], [16]]}, random=spec)
    assert len(both.trials) == 10  # each grid point with each draw


@pytest.mark.parametrize(
    ("grid", "more", "named"),
    [
        ({"train.learning_rat": [0.1]}, {}, r"sweep\.grid\.train\.learning_rat: unknown"),
        ({"data.seed": [1, 2]}, {}, r"sweep\.grid\.data\.seed: unknown parameter"),
        ({"train.learning_rate": []}, {}, r"sweep\.grid\.train\.learning_rate: empty list"),
        ({"train.learning_rate": [0.1, -1]}, {}, r"train\.learning_rate: -1 is not a valid"),
        ({"train.hidden_layers": [[0]]}, {}, r"train\.hidden_layers: \[0\] is not a valid"),
        ({"train.epochs": list(range(1, 66))}, {}, r"sweep: 65 trials; at most 64"),
        ({"train.epochs": [1]}, {"metric": "roc_auc"}, r"sweep\.metric: 'roc_auc' is not"),
        ({"train.epochs": [1]}, {"metric": "test_mae"}, r"sweep\.metric: 'test_mae': a sweep"),
        ({"train.validation_fraction": [0.1, 0.2]}, {}, r"validation_fraction' makes the valid"),
        ({}, {}, r"sweep: declares no trials"),
        ({}, {"random": {"n": 2}}, r"sweep\.random: no parameter ranges"),
        (
            {},
            {"random": {"n": 2, "train.learning_rate": {"low": 0, "high": 1, "log": True}}},
            r"sweep\.random\.train\.learning_rate: .*log needs low > 0",
        ),
    ],
)
def test_a_bad_sweep_is_refused_naming_the_key(grid, more, named):
    with pytest.raises(ParamsError, match=named):
        plan(grid, **more)


def test_a_sweep_needs_validation_rows_to_choose_on():
    base = BASE.model_copy(update={"validation_fraction": 0.0})
    with pytest.raises(ParamsError, match=r"train\.validation_fraction: a sweep chooses"):
        plan({"train.learning_rate": [0.1]}, base=base)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=5), min_size=1, max_size=4))
def test_the_trial_count_is_the_grid_product_and_over_64_is_refused(sizes):
    names = [
        "train.epochs",
        "train.batch_size",
        "train.early_stopping_patience",
        "train.hidden_layers",
    ]
    grid = {}
    for name, values in zip(names, sizes, strict=False):
        grid[name] = [[v] for v in values] if name.endswith("hidden_layers") else values
    count = math.prod(len(v) for v in grid.values())
    if count > MAX_TRIALS:
        with pytest.raises(ParamsError, match=f"{count} trials"):
            plan(grid)
    else:
        assert len(plan(grid).trials) == count


def test_cli_values_are_yaml_literals_lists_split_at_the_top_level_only():
    grid = parse_cli(["train.learning_rate=0.002, 0.005,1e-2", "train.hidden_layers=[32],[64,32]"])
    assert grid == {
        "train.learning_rate": [0.002, 0.005, 0.01],
        "train.hidden_layers": [[32], [64, 32]],
    }
    for bad in ["train.learning_rate", "=1", "train.epochs={a: 1}", "train.epochs=[1,[2]]"]:
        with pytest.raises(ParamsError, match="--sweep"):
            parse_cli([bad])
    with pytest.raises(ParamsError, match="given twice"):
        parse_cli(["train.epochs=1", "train.epochs=2"])
    with pytest.raises(ParamsError, match="empty list"):
        parse_cli(["train.epochs="])


def test_the_cli_grid_replaces_params_yaml_s_and_settings_alone_declare_nothing():
    from_file = SweepParams(grid={"train.epochs": [1, 2]}, parallel=3, metric="rmse")
    cli = declared(from_file, json.dumps(["train.learning_rate=0.1,0.2"]))
    assert cli.grid == {"train.learning_rate": [0.1, 0.2]}
    assert (cli.parallel, cli.metric) == (3, "rmse")
    assert declared(from_file) is from_file
    assert declared(SweepParams(parallel=2)) is None  # no grid: a run as always
    assert declared(None) is None


def test_params_yaml_takes_a_sweep_section_and_names_its_bad_keys(tmp_path):
    params = yaml.safe_load((project_dir() / "params.yaml").read_text())
    assert load_params(project_dir() / "params.yaml").sweep is None
    params["sweep"] = {"grid": {"train.learning_rate": [0.1]}, "paralel": 2}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"unknown key 'sweep\.paralel' \(known: grid, metric"):
        load_params(tmp_path / "params.yaml")


def test_a_bad_sweep_flag_exits_2_naming_the_key_before_anything_runs(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER", "MLFLOW"))},
        "DAGSTER_HOME": str(tmp_path / "home"),
        "MLOPS_ASSETS_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLOPS_ASSETS_PROJECT_DIR": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mlops_assets", "run", "--sweep", "train.learnig_rate=0.1,0.2"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown parameter 'train.learnig_rate'" in lines[0]
    assert not (tmp_path / "artifacts").exists() and not (tmp_path / "mlflow.db").exists()


def _trial(index, value, values):
    return TrialResult(index, values, 42 + index, "mae", value, 3, 1.25, f"/m/{index}")


def test_the_winner_is_the_best_on_validation_ties_to_the_lower_index_nan_never_wins():
    from mlops_assets.modeling.trials import choose

    trials = [_trial(0, 5.0, {}), _trial(1, 3.0, {}), _trial(2, 3.0, {}), _trial(3, math.nan, {})]
    assert choose(trials).index == 1
    auc = [TrialResult(i, {}, 0, "roc_auc", v, 1, 1, "") for i, v in enumerate([0.7, 0.9])]
    assert choose(auc).index == 1  # higher is better


def test_the_trials_table_lists_each_trial_marks_the_winner_and_says_how_it_was_chosen():
    trials = [
        _trial(i, v, {"train.learning_rate": r}) for i, (v, r) in enumerate([(9, 0.1), (7, 0.2)])
    ]
    table = trials_section(SweepOutcome("mae", False, trials, winner=1))
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0] == "|  | trial | train.learning_rate | validation mae ↓ | epochs | seconds |"
    assert rows[1] == "|  | 0 | `0.1` | 9 | 3 | 1.2 |"
    assert rows[2] == "| 🏆 | 1 | `0.2` | **7** | 3 | 1.2 |"
    assert "only it was evaluated on the held-out rows" in table
    assert trials_section(None) == ""


def test_a_run_s_steps_go_under_the_lock_its_executor_holds(tmp_path):
    assert not held_for(tmp_path, "run-a")
    with project_lock(tmp_path, "run-a", wait_seconds=0):
        assert held_for(tmp_path, "run-a")  # the step of the run holding it: go on
        assert not held_for(tmp_path, "run-b")  # another run: wait for the lock
    assert not held_for(tmp_path, "run-a")


def test_without_a_sweep_the_code_location_is_as_it_was():
    from dagster import OpDefinition, in_process_executor

    from mlops_assets.definitions import SWEEP_PLAN, defs

    assert SWEEP_PLAN is None
    job = defs.resolve_job_def("retrain")
    assert job.executor_def is in_process_executor
    model = defs.resolve_assets_def("trained_model")
    assert isinstance(model.node_def, OpDefinition)  # one step, the plain asset
    assert model.code_versions_by_key[model.key] == "3"  # its fingerprints unchanged


@pytest.mark.parametrize("task", sorted(TASK_METRICS))
def test_every_metric_a_sweep_may_choose_on_is_one_the_task_reports(task):
    import numpy as np

    from mlops_assets.report.metrics import compute_metrics

    y = np.array([0, 1, 2, 1, 0, 2] if task.startswith("multi") else [0, 1, 0, 1, 1, 0], float)
    out = np.eye(3)[y.astype(int)] * 0.7 + 0.1 if task.startswith("multi") else y * 0.6 + 0.2
    reported = {base_name(name) for name in compute_metrics(task, y, out)}
    assert set(TASK_METRICS[task]) == reported

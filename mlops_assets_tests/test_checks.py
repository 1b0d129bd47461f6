"""Quality gates: the pure rules, then the asset checks on the real graph."""

import numpy as np
import pandas as pd
import pytest

from mlops_assets.data import quality
from mlops_assets.defs.checks import ALL_CHECKS
from mlops_assets.records import CATEGORICAL, Baseline, Column, Interval
from mlops_assets.report.gate import evaluate_gate
from mlops_assets_tests.conftest import ALL_ASSETS, SAMPLE_CSV, run_config

TOLERANCE = 0.05  # params.yaml's gate.tolerance

# A model that has barely moved from its random initialisation: far worse than the mean.
UNTRAINED = {"epochs": 1, "learning_rate": 1e-6}


def baseline(**metrics: float) -> Baseline:
    return Baseline(run_id="base-run", metrics=metrics)


# --- the model gate, pure -------------------------------------------------------------------


def test_gate_passes_a_model_better_than_naive_and_within_tolerance_of_the_baseline():
    gate = evaluate_gate("mae", {"mae": 41.0}, {"mae": 64.0}, baseline(mae=40.0), TOLERANCE)

    assert gate.passed and gate.reasons == []
    assert any("within tolerance" in note for note in gate.notes)


def test_gate_fails_a_regression_model_more_than_tolerance_worse_than_the_baseline():
    gate = evaluate_gate("mae", {"mae": 42.1}, {"mae": 64.0}, baseline(mae=40.0), TOLERANCE)

    assert not gate.passed
    [reason] = gate.reasons
    assert "baseline 40" in reason and "base-run" in reason and "at most 42" in reason


def test_gate_tolerance_is_configurable():
    assert evaluate_gate("mae", {"mae": 42.1}, {"mae": 64.0}, baseline(mae=40.0), 0.10).passed
    assert not evaluate_gate("mae", {"mae": 40.1}, {"mae": 64.0}, baseline(mae=40.0), 0.0).passed
    with pytest.raises(ValueError, match="tolerance"):
        evaluate_gate("mae", {"mae": 1.0}, {"mae": 2.0}, None, -0.1)


def test_gate_direction_follows_the_metric_for_classification():
    naive = {"roc_auc": 0.5}
    assert evaluate_gate(
        "roc_auc", {"roc_auc": 0.96}, naive, baseline(roc_auc=0.99), TOLERANCE
    ).passed
    failed = evaluate_gate("roc_auc", {"roc_auc": 0.90}, naive, baseline(roc_auc=0.99), TOLERANCE)
    assert not failed.passed and "at least 0.9405" in failed.reasons[0]


def test_gate_fails_a_model_no_better_than_the_naive_predictor_even_without_baseline():
    worse = evaluate_gate("mae", {"mae": 70.0}, {"mae": 64.0}, None, TOLERANCE)
    equal = evaluate_gate("roc_auc", {"roc_auc": 0.5}, {"roc_auc": 0.5}, None, TOLERANCE)

    assert not worse.passed and "naive predictor 64" in worse.reasons[0]
    assert not equal.passed
    assert "no baseline run to compare with" in worse.notes


def test_gate_ignores_a_baseline_without_the_headline_metric():
    gate = evaluate_gate("mae", {"mae": 41.0}, {"mae": 64.0}, baseline(roc_auc=0.9), TOLERANCE)

    assert gate.passed
    assert "has no 'mae' metric" in " ".join(gate.notes)


# --- data rules, pure -----------------------------------------------------------------------


def test_duplicate_heavy_data_fails_with_the_fraction():
    frame = pd.DataFrame({"x": [1.0, 1.0, 1.0, 2.0, 3.0], "target": [1.0, 1.0, 1.0, 2.0, 3.0]})

    verdict = quality.duplicate_rows(frame, max_fraction=0.1)

    assert not verdict.passed
    assert "2 of 5 rows (40.0%)" in verdict.reason and verdict.metadata["duplicate_rows"] == 2


def test_leakage_names_the_held_out_rows_found_in_training():
    x_train = pd.DataFrame({"a": [1.0, 3.0, np.nan], "s": ["M", "F", "F"]})
    x_test = pd.DataFrame({"a": [9.0, 3.0, np.nan], "s": ["M", "F", "M"]})

    verdict = quality.train_test_leakage(x_train, x_test)

    assert not verdict.passed  # compared on the raw columns, text and gaps included
    assert "1 of 3 held-out rows" in verdict.reason and "indices 1" in verdict.reason
    assert quality.train_test_leakage(x_train, x_test.iloc[[0, 2]]).passed


@pytest.mark.parametrize(
    ("values", "task", "message"),
    [
        ([3.0, 3.0, 3.0], "regression", "constant target"),
        ([0.0, 0.0, 0.0], "binary_classification", "expected exactly two classes"),
        ([0.0, 1.0, 2.0], "binary_classification", "found ['0.0', '1.0', '2.0']"),
        (["a", "b", "a"], "multiclass_classification", "expected 3 to 50 classes"),
    ],
)
def test_target_rules(values, task, message):
    verdict = quality.target_values(pd.Series(values), task)

    assert not verdict.passed and message in verdict.reason


def test_schema_row_count_missing_values_and_split_classes():
    frame = pd.DataFrame({"x": ["a", "b"], "target": [1.0, np.inf]})

    assert "columns of no known kind: x" in quality.schema(frame, "target").reason
    kinds = [Column("x", CATEGORICAL, "string", 0.0)]
    typed = quality.schema(frame, "target", kinds)
    assert typed.passed and typed.metadata["kinds"] == "x: categorical (string, inferred)"
    assert "target column 'y' missing" in quality.schema(frame, "y").reason
    assert "infinite" in quality.target_values(frame["target"], "regression").reason
    gaps = pd.DataFrame({"x": [1.0, None, None, 4.0], "z": [1, 2, None, 4], "target": [1] * 4})
    verdict = quality.missing_values(gaps, "target", max_fraction=0.3)
    assert not verdict.passed and "'x' 50.0%" in verdict.reason and "'z'" not in verdict.reason
    assert "data.max_missing_fraction" in verdict.reason
    assert quality.missing_values(gaps, "target", max_fraction=0.5).passed
    assert not quality.row_count(5, min_rows=20).passed
    assert quality.row_count(20, min_rows=20, max_rows=20).passed
    lacking = quality.classes_in_both_splits(np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    assert not lacking.passed and "the test split lacks a class" in lacking.reason


# --- the checks on the real graph -----------------------------------------------------------


def check_results(result) -> dict[str, object]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e
        for e in result.get_asset_check_evaluations()
    }


@pytest.mark.pipeline
def test_checks_pass_on_the_sample_and_a_failed_model_gate_fails_the_run_after_the_comment(
    workspace,
):
    good = workspace.materialize([*ALL_ASSETS, *ALL_CHECKS])
    promoted = workspace.latest.resolve()

    assert good.success
    checks = check_results(good)
    assert len(checks) == 8 and all(e.passed for e in checks.values())
    assert "442 rows" in checks["raw_data:row_count"].description
    [materialization] = good.asset_materializations_for_node("metrics_report")
    assert materialization.metadata["gate"].value == "passed"
    assert promoted.name == good.run_id

    bad = workspace.materialize(
        [*ALL_ASSETS, *ALL_CHECKS], config=run_config(train=UNTRAINED), raise_on_error=False
    )

    assert not bad.success
    assert workspace.latest.resolve() == promoted  # the refused model is not promoted
    report = bad.output_for_node("metrics_report")
    assert not report.gate_passed
    assert "no better than predicting without features" in report.gate_reasons[0]
    assert report.directory.endswith(bad.run_id)
    assert bad.asset_materializations_for_node("pr_comment")  # the comment was still written
    gate = check_results(bad)["pr_comment:model_gate"]
    assert not gate.passed and gate.description == "; ".join(report.gate_reasons)
    # the first run is the tracked baseline now, and the refused model regressed beyond it
    assert f"baseline {materialization.metadata['test_mae'].value:.4g}" in report.gate_reasons[1]
    [failure] = [e for e in bad.all_events if e.is_step_failure]
    assert failure.step_key == "pr_comment_model_gate"


@pytest.mark.pipeline
def test_duplicate_heavy_data_is_refused_before_training(workspace, tmp_path):
    rows = SAMPLE_CSV.read_text().splitlines()
    duplicated = tmp_path / "duplicated.csv"
    duplicated.write_text("\n".join(rows + rows[1:100]) + "\n")

    result = workspace.materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        config=run_config(data={"path": str(duplicated)}),
        raise_on_error=False,
    )

    assert not result.success
    check = check_results(result)["raw_data:duplicate_rows"]
    assert not check.passed and "99 of 541 rows" in check.description
    assert result.asset_materializations_for_node("features") == []
    assert not workspace.latest.exists()


def test_a_regression_beyond_the_tolerance_but_within_noise_passes_and_says_so():
    noisy = Interval(38.0, 47.0)  # the baseline's 40 lies inside
    gate = evaluate_gate("mae", {"mae": 42.5}, {"mae": 64.0}, baseline(mae=40.0), TOLERANCE, noisy)

    assert gate.passed
    [note] = [n for n in gate.notes if "baseline" in n]
    assert "at most 42 allowed" in note and "95% interval 38 to 47" in note
    assert note.endswith("beyond the tolerance but within noise")


def test_a_regression_beyond_tolerance_and_noise_is_refused_with_both_numbers():
    tight = Interval(41.5, 43.5)
    gate = evaluate_gate("mae", {"mae": 42.5}, {"mae": 64.0}, baseline(mae=40.0), TOLERANCE, tight)

    assert not gate.passed
    [reason] = gate.reasons
    assert "at most 42 allowed with tolerance 5%" in reason
    assert "95% interval 41.5 to 43.5" in reason
    assert reason.endswith("regressed beyond the tolerance and beyond noise")


def test_a_paired_difference_decides_noise_ahead_of_the_unpaired_interval():
    wide = Interval(38.0, 47.0)  # unpaired, the baseline's 40 would be within noise
    args = ("mae", {"mae": 42.5}, {"mae": 64.0}, baseline(mae=40.0), TOLERANCE, wide)

    worse = evaluate_gate(*args, difference=Interval(1.2, 3.9))
    inside = evaluate_gate(*args, difference=Interval(-0.4, 5.1))
    auc = evaluate_gate(
        "roc_auc",
        {"roc_auc": 0.90},
        {"roc_auc": 0.5},
        baseline(roc_auc=0.99),
        TOLERANCE,
        difference=Interval(-0.12, -0.06),
    )

    assert not worse.passed
    assert "paired difference on the same rows: 95% interval 1.2 to 3.9" in worse.reasons[0]
    assert worse.reasons[0].endswith("beyond the tolerance and beyond noise")
    assert inside.passed and inside.notes[-1].endswith("beyond the tolerance but within noise")
    assert not auc.passed  # higher is better: the whole interval below 0 is worse beyond noise

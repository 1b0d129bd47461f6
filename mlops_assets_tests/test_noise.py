"""The headline's bootstrap interval (seeded, around the metric, as wide as the data says) and
the paired difference of two models on the same rows."""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, roc_auc_score

from mlops_assets.report.noise import bootstrap_interval, paired_difference_interval
from mlops_assets.report.paired import compare_paired, row_keys, write_predictions


def regression(rows: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    y = rng.normal(150, 70, rows)
    return y, y + rng.normal(0, 50, rows)


def test_the_mae_interval_holds_the_mae_is_seeded_and_narrows_with_more_rows():
    y, predicted = regression(100)
    interval = bootstrap_interval("mae", y, predicted, seed=7)

    assert mean_absolute_error(y, predicted) in interval
    assert interval == bootstrap_interval("mae", y, predicted, seed=7)
    assert interval != bootstrap_interval("mae", y, predicted, seed=8)
    y_big, predicted_big = regression(2500)
    wide, narrow = interval, bootstrap_interval("mae", y_big, predicted_big, seed=7)
    assert narrow.high - narrow.low < (wide.high - wide.low) / 3  # about 1/sqrt(25)


def test_the_mae_interval_matches_a_plain_loop_over_scikit_learn():
    y, predicted = regression(80)
    rng = np.random.default_rng(3)
    rows = rng.integers(0, len(y), size=(1000, len(y)))
    by_hand = [mean_absolute_error(y[r], predicted[r]) for r in rows]

    interval = bootstrap_interval("mae", y, predicted, seed=3)

    assert (interval.low, interval.high) == pytest.approx(
        tuple(np.percentile(by_hand, [2.5, 97.5]))
    )


def test_the_roc_auc_interval_matches_scikit_learn_per_resample():
    rng = np.random.default_rng(4)
    y = (rng.random(120) > 0.6).astype(float)
    score = y * 0.4 + rng.random(120)
    rows = rng.integers(0, len(y), size=(1000, len(y)))
    by_hand = [roc_auc_score(y[r], score[r]) for r in rows if 0 < y[r].sum() < len(r)]

    interval = bootstrap_interval("roc_auc", y, score, seed=4)

    assert roc_auc_score(y, score) in interval
    assert (interval.low, interval.high) == pytest.approx(
        tuple(np.percentile(by_hand, [2.5, 97.5]))
    )


def test_a_paired_difference_is_zero_for_the_same_model_and_narrower_than_one_models_spread():
    y, predicted = regression(100)
    rng = np.random.default_rng(5)
    slightly_better = predicted + (y - predicted) * 0.1 + rng.normal(0, 1, len(y))

    same = paired_difference_interval("mae", y, predicted, predicted, seed=7)
    better = paired_difference_interval("mae", y, slightly_better, predicted, seed=7)
    alone = bootstrap_interval("mae", y, predicted, seed=7)

    assert (same.low, same.high) == (0.0, 0.0)
    assert better.high < 0  # lower MAE on the same rows, beyond noise
    assert better.high - better.low < (alone.high - alone.low) / 2
    # One model's interval alone holds the other's MAE: unpaired, this is "within noise".
    assert mean_absolute_error(y, slightly_better) in alone


def test_the_comparison_is_paired_only_when_the_baseline_held_out_the_same_rows(tmp_path):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    out, base_out = y + rng.normal(0, 0.5, 60), y + rng.normal(0, 0.8, 60)
    keys = row_keys(x, y)
    current = write_predictions(tmp_path / "now.csv", keys, y, out)
    shuffled = rng.permutation(60)  # another order of the same rows pairs all the same
    same_rows = write_predictions(
        tmp_path / "base.csv", keys[shuffled], y[shuffled], base_out[shuffled]
    )
    other_rows = write_predictions(
        tmp_path / "other.csv", row_keys(x[:50], y[:50]), y[:50], base_out[:50]
    )

    paired = compare_paired("mae", current, same_rows, seed=1)
    assert paired.rows == 60
    by_row = np.argsort(keys, kind="stable")  # the order both files are read in
    expected = paired_difference_interval("mae", y[by_row], out[by_row], base_out[by_row], seed=1)
    assert paired.difference == pytest.approx(expected)
    assert compare_paired("mae", current, other_rows).difference is None
    assert "held out other rows" in compare_paired("mae", current, other_rows).note
    assert "not available" in compare_paired("mae", current, None).note
    assert len(set(keys)) == 60 and len(set(row_keys(x, y + 1))) == 60
    assert set(keys).isdisjoint(row_keys(x, y + 1))  # the target is part of a row

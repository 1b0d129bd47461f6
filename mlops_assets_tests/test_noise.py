"""The headline's bootstrap interval: seeded, around the metric, as wide as the data says."""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, roc_auc_score

from mlops_assets.report.noise import bootstrap_interval


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

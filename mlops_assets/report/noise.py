"""How much the headline metric would move on other held-out rows: a seeded bootstrap.

One split and one seed give one number; resampling the held-out rows with replacement shows
its spread. The interval is the 2.5th to 97.5th percentile of the metric over the resamples.
Only the predictions already made are resampled: no model runs again. With the baseline's
predictions on the same rows, the difference of the two models is resampled instead (paired).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_assets.records import Interval
from mlops_assets.report.metrics import base_name

if TYPE_CHECKING:
    import numpy as np

RESAMPLES = 1000


def _mae(y_true: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.abs(y_true - y_out).mean(axis=1)


def _roc_auc(y_true: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    """ROC AUC of each row (a resample) from the ranks of its scores (Mann-Whitney U)."""
    import numpy as np
    from scipy.stats import rankdata

    positive = y_true == 1
    n_pos = positive.sum(axis=1)
    n_neg = y_true.shape[1] - n_pos
    ranks = rankdata(y_out, axis=1)
    u = (ranks * positive).sum(axis=1) - n_pos * (n_pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


def _macro_f1(y_true: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    """Macro-F1 of each row (a resample) from class indices: ``y_out`` holds predicted classes.
    Every class of the held-out rows counts, as scikit-learn's ``labels=`` does."""
    import numpy as np

    classes = np.unique(np.concatenate([np.unique(y_true), np.unique(y_out)]))
    scores = []
    for c in classes:
        actual, predicted = y_true == c, y_out == c
        tp = (actual & predicted).sum(axis=1)
        denominator = actual.sum(axis=1) + predicted.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores.append(np.where(denominator > 0, 2 * tp / denominator, 0.0))
    return np.mean(scores, axis=0)


HEADLINE_FUNCTIONS = {"mae": _mae, "roc_auc": _roc_auc, "macro_f1": _macro_f1}


def _interval(values: np.ndarray, level: float) -> Interval:
    import numpy as np

    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high), level)


def _resamples(rows: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` rows of indices, each ``rows`` long, drawn with replacement."""
    import numpy as np

    return np.random.default_rng(seed).integers(0, rows, size=(resamples, rows))


def bootstrap_interval(
    metric: str,
    y_true: np.ndarray,
    y_out: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """The ``level`` interval of ``metric`` (``test_mae``, ``test_roc_auc``, or
    ``test_macro_f1`` from predicted class indices) over seeded resamples."""
    import numpy as np

    y_true, y_out = np.asarray(y_true), np.asarray(y_out)
    rows = _resamples(len(y_true), resamples, seed)
    return _interval(HEADLINE_FUNCTIONS[base_name(metric)](y_true[rows], y_out[rows]), level)


def paired_difference_interval(
    metric: str,
    y_true: np.ndarray,
    y_out: np.ndarray,
    baseline_out: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """The ``level`` interval of ``metric(this model) - metric(baseline)`` when both models
    predicted the same rows: each resample scores both on the same rows, so the rows' own
    difficulty cancels out and what is left is the spread of the difference."""
    import numpy as np

    y_true, y_out, baseline_out = map(np.asarray, (y_true, y_out, baseline_out))
    rows = _resamples(len(y_true), resamples, seed)
    score = HEADLINE_FUNCTIONS[base_name(metric)]
    return _interval(
        score(y_true[rows], y_out[rows]) - score(y_true[rows], baseline_out[rows]), level
    )

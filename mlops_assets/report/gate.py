"""The model quality gate: may this model replace the last good one? Pure, from plain values.

A model fails when its headline metric is no better than a featureless (naive) predictor's, or
worse than the baseline run's by more than ``tolerance`` (relative: 0.05 allows 5% worse) and
by more than the noise of one split: the paired difference's interval wholly on the worse side
when both models predicted the same rows, else the baseline's value outside this run's interval.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlops_assets.records import Baseline, Interval
from mlops_assets.report.metrics import higher_is_better


@dataclass(frozen=True)
class GateResult:
    """The verdict and, whether it passed or not, one sentence per comparison made."""

    passed: bool
    reasons: list[str] = field(default_factory=list)  # why it failed (empty when it passed)
    notes: list[str] = field(default_factory=list)  # comparisons that passed or were not possible


def _worse(value: float, reference: float, higher: bool) -> bool:
    return value < reference if higher else value > reference


def evaluate_gate(
    headline: str,
    metrics: Mapping[str, float],
    naive: Mapping[str, float],
    baseline: Baseline | None,
    tolerance: float,
    interval: Interval | None = None,
    difference: Interval | None = None,
) -> GateResult:
    """Compare ``metrics[headline]`` with the naive predictor's and the baseline's. With the
    headline's bootstrap ``interval``, or better the paired ``difference`` (this model minus the
    baseline on the same rows), a model worse than the tolerance allows is refused only when it
    is also worse beyond noise."""
    if tolerance < 0:
        raise ValueError(f"gate tolerance must be >= 0, got {tolerance}")
    higher = higher_is_better(headline)
    value = metrics[headline]
    reasons: list[str] = []
    notes: list[str] = []

    naive_value = naive.get(headline)
    if naive_value is not None:
        verdict = f"{headline} {value:.4g} vs naive predictor {naive_value:.4g}"
        if _worse(value, naive_value, higher) or value == naive_value:
            reasons.append(f"{verdict}: no better than predicting without features")
        else:
            notes.append(f"{verdict}: better")

    if baseline is None:
        notes.append("no baseline run to compare with")
    elif headline not in baseline.metrics:
        notes.append(f"baseline {baseline.label} has no '{headline}' metric")
    else:
        reference = baseline.metrics[headline]
        limit = reference * (1 - tolerance) if higher else reference * (1 + tolerance)
        bound = "at least" if higher else "at most"
        verdict = (
            f"{headline} {value:.4g} vs baseline {reference:.4g} ({baseline.label}; "
            f"{bound} {limit:.4g} allowed with tolerance {tolerance:.0%})"
        )
        if difference is not None:
            noise = f"; paired difference on the same rows: {difference}"
            within_noise = 0 <= difference.high if higher else difference.low <= 0
        elif interval is not None:
            noise, within_noise = f"; this run's {interval}", reference in interval
        else:
            noise, within_noise = "", False
        if not _worse(value, limit, higher):
            notes.append(f"{verdict}: within tolerance")
        elif within_noise:
            notes.append(f"{verdict}{noise}: beyond the tolerance but within noise")
        else:
            beyond = " and beyond noise" if noise else ""
            reasons.append(f"{verdict}{noise}: regressed beyond the tolerance{beyond}")

    return GateResult(passed=not reasons, reasons=reasons, notes=notes)

"""Whether a metric is better or worse than the baseline's, and whether the headline's change is
inside the noise: decided once here, so the comment and the run's summary cannot disagree."""

import math
from dataclasses import dataclass
from enum import Enum

from mlops_assets.records import MetricsReport
from mlops_assets.report.metrics import higher_is_better


class Direction(Enum):
    """A metric against the baseline's value, read in the metric's direction."""

    SAME = "⚪ same"
    BETTER = "🟢 better"
    WORSE = "🔴 worse"


@dataclass(frozen=True)
class Verdict:
    """One metric against the baseline: the change, its direction and, for the headline, whether
    the change is within the noise (None when there is no interval to tell, or for the others)."""

    delta: float | None = None  # this run minus the baseline; None without a comparable baseline
    direction: Direction | None = None
    within_noise: bool | None = None

    @property
    def changed_within_noise(self) -> bool:
        """A change, but one the noise explains."""
        return bool(self.delta) and self.within_noise is True

    @property
    def wording(self) -> str:
        """``🟢 better``, ``🔴 worse, beyond noise``, ``⚪ within noise``, ``⚪ same`` or empty."""
        if self.direction is None:
            return ""
        if self.changed_within_noise:
            return "⚪ within noise"
        if self.delta and self.within_noise is False:
            return f"{self.direction.value}, beyond noise"
        return self.direction.value


def compare(name: str, value: float, baseline: float | None) -> Verdict:
    """``value`` against ``baseline``, in ``name``'s direction (no noise considered)."""
    if baseline is None or math.isnan(baseline) or math.isnan(value):
        return Verdict()
    if math.isclose(value, baseline, rel_tol=1e-9, abs_tol=1e-12):
        return Verdict(0.0, Direction.SAME)
    delta = value - baseline
    improved = delta > 0 if higher_is_better(name) else delta < 0
    return Verdict(delta, Direction.BETTER if improved else Direction.WORSE)


def within_noise(report: MetricsReport) -> bool | None:
    """Whether the headline's change from the baseline is inside the noise: the paired
    difference's interval holds 0, or (unpaired) this run's interval holds the baseline."""
    base = report.baseline.metrics.get(report.headline) if report.baseline else None
    difference = report.paired.difference if report.paired else None
    if base is None:
        return None
    if difference is not None:
        return difference.low <= 0 <= difference.high
    return base in report.interval if report.interval is not None else None


def headline_verdict(report: MetricsReport) -> Verdict:
    """The headline against the baseline, with the noise taken into account."""
    base = report.baseline.metrics.get(report.headline) if report.baseline else None
    verdict = compare(report.headline, report.metrics[report.headline], base)
    if verdict.direction is None:
        return verdict
    return Verdict(verdict.delta, verdict.direction, within_noise(report))

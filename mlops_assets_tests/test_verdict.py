"""The verdict the comment and the summary share: direction by metric, noise for the headline."""

from mlops_assets.records import Baseline, Interval, MetricsReport, Paired
from mlops_assets.report.verdict import Direction, compare, headline_verdict


def report(value, base, interval=None, paired=None) -> MetricsReport:
    return MetricsReport(
        task="regression",
        headline="mae",
        metrics={"mae": value},
        naive={},
        markdown="",
        directory="/tmp/run",
        baseline=Baseline("b", {"mae": base}) if base is not None else None,
        interval=interval,
        paired=paired,
    )


def test_the_direction_reads_the_metric():
    assert compare("mae", 40.0, 41.0).direction is Direction.BETTER  # lower is better
    assert compare("r2", 0.4, 0.5).direction is Direction.WORSE
    assert compare("mae", 40.0, 40.0).wording == "⚪ same"
    assert compare("mae", 40.0, None).wording == ""


def test_the_headline_within_or_beyond_the_noise():
    paired_within = Paired(Interval(-2.0, 1.0), rows=89)
    within = headline_verdict(report(40.0, 41.0, paired=paired_within))
    assert (within.wording, within.changed_within_noise) == ("⚪ within noise", True)
    beyond = headline_verdict(report(40.0, 45.0, interval=Interval(38.0, 42.0)))
    assert (beyond.wording, beyond.changed_within_noise) == ("🟢 better, beyond noise", False)
    unknown = headline_verdict(report(40.0, 45.0))
    assert (unknown.wording, unknown.delta) == ("🟢 better", -5.0)
    assert headline_verdict(report(40.0, None)).wording == ""

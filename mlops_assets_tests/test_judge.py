"""The judgement's plain parts: which baseline wins, and what the report logs to MLflow."""

from dataclasses import replace
from pathlib import Path

from mlops_assets.records import Baseline, Interval, MetricsReport, SeedSpread
from mlops_assets.report.judge import Baselines, find_baseline
from mlops_assets.tracking.mlflow_client import report_metrics

CHAMPION = Baseline("champion-run", {"mae": 40.0})
LATEST = Baseline("latest-run", {"mae": 41.0})


def baselines(champion=None, latest=None, asked=None) -> Baselines:
    def latest_run(branch, exclude):
        if asked is not None:
            asked.append((branch, exclude))
        return latest

    return Baselines(lambda: champion, latest_run, lambda *_: None, "the test store")


def test_the_champion_wins_then_the_latest_run_of_the_branch_other_than_this_one():
    asked = []
    assert find_baseline(baselines(CHAMPION, LATEST, asked), Path("."), "main", "me") == (
        CHAMPION,
        "",
    )
    assert asked == []  # the champion found, no search for runs
    assert find_baseline(baselines(None, LATEST, asked), Path("."), "main", "me") == (LATEST, "")
    assert asked == [("main", "me")]


def test_the_report_logs_its_metrics_interval_and_seeds_under_their_names():
    report = MetricsReport(
        task="regression",
        headline="test_mae",
        metrics={"test_mae": 40.0, "test_r2": 0.5},
        naive={},
        markdown="",
        directory="/tmp/run",
        interval=Interval(38.0, 42.0),
        seeds=SeedSpread([1, 2], [40.0, 42.0]),
    )
    expected = {
        "test_mae": 40.0,
        "test_r2": 0.5,
        "test_recall_class_a": 0.9,
        "test_mae_interval_low": 38.0,
        "test_mae_interval_high": 42.0,
        "test_mae_seeds_mean": 41.0,
        "test_mae_seeds_spread": 2**0.5,
    }
    assert report_metrics(report, {"test_recall_class_a": 0.9}) == expected
    # A report restored from before the names (mae) logs them the same way.
    older = replace(report, headline="mae", metrics={"mae": 40.0, "r2": 0.5})
    assert report_metrics(older, {"test_recall_class_a": 0.9}) == expected

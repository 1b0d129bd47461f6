"""One vocabulary of metric names (report.metrics): ``test_*`` held out, ``val_*`` and
``train_*`` curves; the bare names of older reports read as aliases, so an older champion,
run or committed metrics.json still judges. The pipeline's own names are checked end to end in
test_pipeline (metrics.json, MLflow, the UI, the report)."""

import numpy as np
import pytest
from mlflow import MlflowClient

from mlops_assets.records import Baseline
from mlops_assets.report.gate import evaluate_gate
from mlops_assets.report.metrics import (
    HEADLINE,
    compute_metrics,
    curve_name,
    held_out,
    higher_is_better,
    naive_metrics,
)
from mlops_assets.tracking import registry
from mlops_assets.tracking.location import TrackingLocation, local_tracking_uri


def test_held_out_metrics_and_the_naive_predictors_are_named_test_star():
    y_true, y_out = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.5, 4.5])
    assert set(compute_metrics("regression", y_true, y_out)) == {"test_mae", "test_rmse", "test_r2"}
    naive = naive_metrics("regression", np.array([1.0, 3.0]), y_true)
    assert naive["test_mae"] == pytest.approx(1.0)
    labels, scores = np.array([0, 1, 1, 0]), np.array([0.2, 0.9, 0.6, 0.4])
    assert "test_roc_auc" in compute_metrics("binary_classification", labels, scores)
    assert set(HEADLINE.values()) == {"test_mae", "test_roc_auc", "test_macro_f1"}


def test_a_metrics_direction_does_not_depend_on_its_split_and_curves_name_theirs():
    assert not higher_is_better("test_mae") and not higher_is_better("val_mae")
    assert not higher_is_better("mae") and higher_is_better("test_r2")
    assert not higher_is_better("test_log_loss")
    assert [curve_name(k) for k in ("loss", "mae", "val_loss", "val_mae")] == [
        "train_loss",
        "train_mae",
        "val_loss",
        "val_mae",
    ]


def test_older_bare_names_read_as_their_held_out_names():
    older = {"mae": 40.0, "rmse": 50.0, "test_r2": 0.4, "precision_class_a": 0.9}
    assert held_out(older) == {
        "test_mae": 40.0,
        "test_rmse": 50.0,
        "test_r2": 0.4,
        "precision_class_a": 0.9,
    }


@pytest.mark.pipeline  # an embedded MLflow store: its migrations take seconds
def test_a_champion_registered_under_the_old_names_is_still_the_gates_baseline(tmp_path):
    """A version tagged before the vocabulary (``metric.mae``, headline ``mae``), in a real
    embedded store: read back under today's names, it judges a worse model."""
    location = TrackingLocation(local_tracking_uri(tmp_path), "old", "test")
    client = MlflowClient(location.uri, registry_uri=location.uri)
    experiment = client.create_experiment("old", artifact_location=(tmp_path / "a").as_uri())
    run = client.create_run(experiment)
    client.create_registered_model("model")
    tags = {"metric.mae": "40.0", "metric.rmse": "50.0", "headline": "mae"}
    tags["report_run_id"] = run.info.run_id
    client.create_model_version("model", "file:///nowhere", run_id=run.info.run_id, tags=tags)
    client.set_registered_model_alias("model", registry.CHAMPION, "1")
    client.set_model_version_tag(
        "model",
        "1",
        f"{registry.PROMOTION_TAG}000001",
        '{"seq": 1, "version": "1", '
        '"replaced": null, "at": "t", "by_run": "r", "commit": "c", "reason": "merge", '
        '"deltas": {"mae": -2.0}}',
    )

    champion = registry.by_alias(location, "model")
    assert (champion.headline, champion.metrics) == (
        "test_mae",
        {"test_mae": 40.0, "test_rmse": 50.0},
    )
    assert registry.ledger(location, "model")[0].deltas == {"test_mae": -2.0}
    baseline = registry.champion_baseline(location, "model", "the store")
    assert baseline.metrics["test_mae"] == 40.0

    gate = evaluate_gate("test_mae", {"test_mae": 50.0}, {"test_mae": 64.0}, baseline, 0.05)
    assert not gate.passed
    assert "test_mae 50 vs baseline 40" in gate.reasons[0]
    fresh = Baseline("new", {"test_mae": 40.0})
    assert evaluate_gate("test_mae", {"test_mae": 41.0}, {"test_mae": 64.0}, fresh, 0.05).passed

"""Quality gates as asset checks: the pipeline refuses bad data and bad models.

Data checks on ``raw_data`` and ``features`` are blocking: when one fails, nothing downstream
runs, so no model is trained on that data. The model gate is decided inside ``metrics_report``
(which then leaves ``artifacts/latest`` where it was) and enforced by ``model_gate``, a blocking
check on ``pr_comment``: it runs after the comment reporting the failure is written, and its
failure fails the run, so the CLI exits non-zero. (A blocking check on ``metrics_report`` would stop
``pr_comment`` from running; one ordered after ``pr_comment`` would form a cycle with it.)
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    MetadataValue,
    asset_check,
    multi_asset_check,
)

from mlops_assets.data import quality
from mlops_assets.records import Dataset, FeatureSet, MetricsReport


def _result(asset: str, name: str, verdict: quality.Verdict) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=verdict.passed,
        severity=AssetCheckSeverity.ERROR,
        description=verdict.reason,
        metadata={"reason": verdict.reason, **verdict.metadata},
    )


def _specs(asset: str, descriptions: dict[str, str]) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(name, asset=asset, blocking=True, description=text)
        for name, text in descriptions.items()
    ]


RAW_DATA_CHECKS = {
    "schema": "Target and at least one feature present, unique names; each column's kind "
    "(numeric or categorical) in the metadata.",
    "missing_values": "No feature missing in more than data.max_missing_fraction of rows "
    "(the rest are imputed), no infinite number; rows without a target were dropped.",
    "row_count": f"Row count within [{quality.MIN_ROWS}, {quality.MAX_ROWS}].",
    "target_values": "Regression: finite, non-constant target. Binary: two labels. "
    "Multiclass: 3 to 50.",
    "duplicate_rows": f"At most {quality.MAX_DUPLICATE_FRACTION:.0%} of rows are exact repeats.",
}
FEATURES_CHECKS = {
    "train_test_leakage": "No held-out row is identical to a training row (raw columns).",
    "classes_in_both_splits": "Classification: every class in the training and held-out split.",
}


@multi_asset_check(specs=_specs("raw_data", RAW_DATA_CHECKS), ins={"raw_data": AssetIn()})
def raw_data_checks(raw_data: Dataset):
    frame, target = raw_data.frame, raw_data.target
    max_missing = raw_data.params.get("max_missing_fraction", quality.MAX_MISSING_FRACTION)
    missing = quality.missing_values(frame, target, max_missing)
    if raw_data.dropped_target_rows:
        note = f"; {raw_data.dropped_target_rows} rows without a target dropped"
        metadata = {**missing.metadata, "dropped_target_rows": raw_data.dropped_target_rows}
        missing = quality.Verdict(missing.passed, missing.reason + note, metadata)
    verdicts = {
        "schema": quality.schema(frame, target, raw_data.columns or None),
        "missing_values": missing,
        "row_count": quality.row_count(len(frame)),
        "target_values": quality.target_values(frame[target], raw_data.task)
        if target in frame.columns
        else quality.Verdict(False, f"target column '{target}' missing"),
        "duplicate_rows": quality.duplicate_rows(frame),
    }
    for name, verdict in verdicts.items():
        yield _result("raw_data", name, verdict)


@multi_asset_check(specs=_specs("features", FEATURES_CHECKS), ins={"features": AssetIn()})
def features_checks(features: FeatureSet):
    yield _result(
        "features",
        "train_test_leakage",
        quality.train_test_leakage(features.x_train, features.x_test),
    )
    if features.classes:
        classes = quality.classes_in_both_splits(
            features.y_train, features.y_test, len(features.classes)
        )
    else:
        classes = quality.Verdict(True, f"not applicable to {features.task}")
    yield _result("features", "classes_in_both_splits", classes)


@asset_check(
    asset="pr_comment",
    blocking=True,
    additional_ins={"metrics_report": AssetIn()},
    description="The model beats the naive predictor and is at most the configured tolerance "
    "worse than the baseline run; otherwise artifacts/latest stays where it was, the model is not "
    "registered, and this fails the run "
    "(after the PR comment saying so is written).",
)
def model_gate(metrics_report: MetricsReport) -> AssetCheckResult:
    report = metrics_report
    reasons = "; ".join(report.gate_reasons) or "headline metric within the gate"
    return AssetCheckResult(
        passed=report.gate_passed,
        severity=AssetCheckSeverity.ERROR,
        description=reasons,
        metadata={
            "reason": reasons,
            report.headline: report.metrics[report.headline],
            f"naive_{report.headline}": report.naive.get(report.headline, float("nan")),
            "baseline": report.baseline.label if report.baseline else "none",
            "is_latest": report.gate_passed,
            "run_dir": MetadataValue.path(report.directory),
        },
    )


ALL_CHECKS = [raw_data_checks, features_checks, model_gate]

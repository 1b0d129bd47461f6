"""Evaluating a saved model on the held-out split: metrics, plots, metrics.json and report.md.

The model is loaded from the file ``artifacts/latest`` will point at, not an in-memory copy, so
the report describes exactly what ``latest`` will hold.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from mlops_assets.artifacts.atomic import write_text_atomic
from mlops_assets.artifacts.layout import (
    LABELS_FILE,
    METRICS_FILE,
    PLOTS_DIR,
    PREDICTIONS_FILE,
    REPORT_FILE,
)
from mlops_assets.records import (
    AssetDecision,
    FeatureSet,
    Interval,
    MetricsReport,
    SeedSpread,
    TrainedModel,
)
from mlops_assets.report.markdown import render_report, with_reuse_note
from mlops_assets.report.metrics import (
    HEADLINE,
    TEST,
    compute_metrics,
    naive_metrics,
    per_class_metrics,
)
from mlops_assets.report.noise import bootstrap_interval
from mlops_assets.report.paired import row_keys, write_predictions


@dataclass(frozen=True)
class Evaluation:
    headline: str
    metrics: dict[str, float]
    interval: Interval  # the headline's, over resampled held-out rows
    naive: dict[str, float]
    plots: dict[str, Path]
    markdown: str
    metrics_path: Path
    report_path: Path
    predictions_path: Path  # the held-out rows' hashes, targets and predictions (report.paired)
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)  # multiclass

    @property
    def files(self) -> list[Path]:
        """What experiment tracking keeps besides the plots, with the class labels (when there
        are any) that a model restored from there needs."""
        labels = self.metrics_path.with_name(LABELS_FILE)
        found = [labels] if labels.is_file() else []
        return [self.metrics_path, self.report_path, self.predictions_path, *found]

    def report(
        self,
        features: FeatureSet,
        trained: TrainedModel,
        seeds: SeedSpread | None,
        reused_from_run: str | None,
        decisions: list[AssetDecision],
    ) -> MetricsReport:
        """The report, not judged yet: no baseline, the gate not decided (``report.judge``)."""
        return MetricsReport(
            task=features.task,
            headline=self.headline,
            metrics=self.metrics,
            naive=self.naive,
            markdown=self.markdown,
            directory=str(self.metrics_path.parent),
            history=trained.history,
            params=trained.params,
            data_hash=features.data_hash,
            plots={name: str(path) for name, path in self.plots.items()},
            interval=self.interval,
            seeds=seeds,
            reused_from_run=reused_from_run,
            decisions=decisions,
            sweep=trained.sweep,
        )

    def per_class_metrics(self) -> dict[str, float]:
        """``per_class`` as flat metric names, ``test_precision_class_<label>``, for MLflow."""
        return {
            f"{TEST}{name}_class_{_metric_safe(label)}": value
            for label, values in self.per_class.items()
            for name, value in values.items()
        }


def _metric_safe(label: str) -> str:
    """A label as MLflow accepts it in a metric name (letters, digits, ``_-. /``)."""
    return "".join(c if c.isalnum() or c in "_-. /" else "_" for c in label)


def evaluate(
    model_path: Path,
    features: FeatureSet,
    trained: TrainedModel,
    reused_from_run: str | None = None,
) -> Evaluation:
    """Score ``model_path`` on the held-out rows and write the report files beside it."""
    from mlops_assets.data.features import feature_statistics
    from mlops_assets.modeling.keras_model import load_model, predict
    from mlops_assets.report.plots import task_plots

    run_dir = model_path.parent
    task, classes = features.task, features.classes
    y_out = predict(load_model(model_path), features.x_test)
    metrics = compute_metrics(task, features.y_test, y_out)
    naive = naive_metrics(task, features.y_train, features.y_test, len(classes))
    multiclass = task == "multiclass_classification"
    per_class = per_class_metrics(features.y_test, y_out, classes) if multiclass else {}
    plots = task_plots(task, features.y_test, y_out, trained.history, run_dir / PLOTS_DIR, classes)
    data = {
        "data hash (MD5)": features.data_hash,
        "features": len(features.feature_names),
        "train rows": len(features.y_train),
        "test rows": len(features.y_test),
        "rows dropped (missing target)": features.dropped_target_rows,
    }
    if classes:
        data["classes"] = ", ".join(str(c) for c in classes)
    markdown = render_report(
        task=task,
        metrics=metrics,
        naive=naive,
        data=data,
        params=trained.params,
        plots={name: f"plots/{path.name}" for name, path in plots.items()},
        epochs_run=trained.epochs_run,
        columns=feature_statistics(features),
        per_class=per_class,
    )
    if reused_from_run:
        markdown = with_reuse_note(markdown, reused_from_run, "Model reused")
    headline = HEADLINE[task]
    scored = y_out.argmax(axis=1) if multiclass else y_out  # macro-F1 resamples classes
    return Evaluation(
        headline=headline,
        metrics=metrics,
        per_class=per_class,
        interval=bootstrap_interval(headline, features.y_test, scored, seed=features.seed),
        naive=naive,
        plots=plots,
        markdown=markdown,
        metrics_path=write_text_atomic(
            run_dir / METRICS_FILE, json.dumps(metrics, indent=2) + "\n"
        ),
        report_path=write_text_atomic(run_dir / REPORT_FILE, markdown),
        predictions_path=write_predictions(
            run_dir / PREDICTIONS_FILE,
            row_keys(features.x_test, features.y_test),
            features.y_test,
            scored,
        ),
    )

"""metrics_report: held-out metrics, plots and report.md; then the run becomes ``artifacts/latest``."""

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from dagster import AssetExecutionContext, DataVersion, MetadataValue, Output, asset

from mlops_assets.assets.trained_model import MODEL_FILE, TrainedModel
from mlops_assets.data.features import FeatureSet
from mlops_assets.params import GateConfig
from mlops_assets.report.baseline import Baseline
from mlops_assets.report.gate import evaluate_gate
from mlops_assets.report.markdown import render_report
from mlops_assets.report.metrics import HEADLINE, compute_metrics, naive_metrics
from mlops_assets.resources.artifacts import ArtifactStore, write_text_atomic
from mlops_assets.resources.tracking import MlflowTracking
from mlops_assets.reuse import lookup, restored_output, reuse_metadata, with_reuse_note
from mlops_assets.tracking.provenance import base_branch


@dataclass(frozen=True)
class MetricsReport:
    """Everything the publishing step needs to say what this run found."""

    task: str
    headline: str
    metrics: dict[str, float]
    naive: dict[str, float]
    markdown: str
    directory: str
    history: dict[str, list[float]] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    data_hash: str = ""
    plots: dict[str, str] = field(default_factory=dict)  # name -> absolute PNG path
    mlflow_run_id: str | None = None
    mlflow_run_url: str | None = None
    baseline: Baseline | None = None
    gate_passed: bool = True
    gate_reasons: list[str] = field(default_factory=list)
    reused_from_run: str | None = None  # the run that trained this model, when not this one


@asset(code_version="1", group_name="retrain", kinds={"mlflow"})
def metrics_report(
    context: AssetExecutionContext,
    config: GateConfig,
    features: FeatureSet,
    trained_model: TrainedModel,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> Output[MetricsReport]:
    """Evaluates the saved model (the file that is promoted, not an in-memory copy) on the
    held-out split, writes metrics.json, plots and report.md beside it, and promotes the set
    if the model passes the quality gate (the ``model_gate`` check then fails the run)."""
    print_, reused = lookup(
        context, config.model_dump(), still_valid=lambda report: Path(report.directory).is_dir()
    )
    if reused:
        previous: MetricsReport = reused.value
        directory = Path(previous.directory)
        if previous.gate_passed and artifacts.latest.resolve() != directory.resolve():
            artifacts.promote(directory)
        markdown = with_reuse_note(previous.markdown, reused.run_id, "Model and report reused")
        report = replace(previous, markdown=markdown, reused_from_run=reused.run_id)
        return restored_output(print_, reused, report, {"report": MetadataValue.md(markdown)})

    from mlops_assets.modeling.keras_model import load_model, predict
    from mlops_assets.report.plots import task_plots

    run_dir = artifacts.run_dir(context.run_id)
    model_path = run_dir / MODEL_FILE
    if Path(trained_model.path) != model_path:  # the model came from an earlier run
        shutil.copy2(trained_model.path, model_path)

    y_out = predict(load_model(model_path), features.x_test)
    metrics = compute_metrics(features.task, features.y_test, y_out)
    naive = naive_metrics(features.task, features.y_train, features.y_test)
    plots = task_plots(
        features.task, features.y_test, y_out, trained_model.history, run_dir / "plots"
    )
    headline = HEADLINE[features.task]
    markdown = render_report(
        task=features.task,
        metrics=metrics,
        naive=naive,
        data={
            "data hash (MD5)": features.data_hash,
            "features": len(features.feature_names),
            "train rows": len(features.y_train),
            "test rows": len(features.y_test),
        },
        params=trained_model.params,
        plots={name: f"plots/{path.name}" for name, path in plots.items()},
        epochs_run=trained_model.epochs_run,
    )
    model_run = Path(trained_model.path).parent.name
    reused_from_run = model_run if model_run != context.run_id else None
    if reused_from_run:
        markdown = with_reuse_note(markdown, reused_from_run, "Model reused")
    metrics_path = write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    report_path = write_text_atomic(run_dir / "report.md", markdown)

    with tracking.run(context) as mlf:
        run = mlf.active_run().info
        baseline = tracking.baseline(branch=base_branch(), exclude_run_id=run.run_id)
        gate = evaluate_gate(headline, metrics, naive, baseline, config.tolerance)
        mlf.log_metrics({f"test_{k}": v for k, v in metrics.items()})
        mlf.log_artifacts(str(run_dir / "plots"), artifact_path="plots")
        mlf.log_artifact(str(metrics_path))
        mlf.log_artifact(str(report_path))
        mlf.set_tag("mlops_assets.gate", "passed" if gate.passed else "failed")

    latest = artifacts.latest
    if gate.passed:
        artifacts.promote(run_dir)
        context.log.info(f"{headline}={metrics[headline]:.4g}; promoted {run_dir} to {latest}")
    else:
        context.log.warning(
            f"model gate failed, {latest} left as it was: {'; '.join(gate.reasons)}"
        )
    report = MetricsReport(
        task=features.task,
        headline=headline,
        metrics=metrics,
        naive=naive,
        markdown=markdown,
        directory=str(run_dir),
        history=trained_model.history,
        params=trained_model.params,
        data_hash=features.data_hash,
        plots={name: str(path) for name, path in plots.items()},
        mlflow_run_id=run.run_id,
        mlflow_run_url=tracking.run_url(run.experiment_id, run.run_id),
        baseline=baseline,
        gate_passed=gate.passed,
        gate_reasons=gate.reasons,
        reused_from_run=reused_from_run,
    )
    published = latest if gate.passed else run_dir
    return Output(
        report,
        data_version=DataVersion(print_),
        metadata={
            **reuse_metadata(print_),
            headline: metrics[headline],
            **{f"test_{k}": v for k, v in metrics.items() if k != headline},
            "gate": "passed" if gate.passed else "failed",
            "gate_details": MetadataValue.md(
                "\n".join(f"- {line}" for line in gate.reasons + gate.notes)
            ),
            "promoted": gate.passed,
            "report": MetadataValue.md(markdown),
            "metrics_path": MetadataValue.path(str(published / "metrics.json")),
            "report_path": MetadataValue.path(str(published / "report.md")),
            "run_dir": MetadataValue.path(str(run_dir)),
        },
    )

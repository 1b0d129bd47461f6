"""metrics_report: held-out metrics, plots and report.md; then the run becomes ``artifacts/latest``."""

import os
from dataclasses import replace
from pathlib import Path

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets import run_tags
from mlops_assets.artifacts.layout import (
    LABELS_FILE,
    METRICS_FILE,
    PLOTS_DIR,
    PREDICTIONS_FILE,
    REPORT_FILE,
)
from mlops_assets.data.dataset import read_csv
from mlops_assets.defs.config import GateConfig
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.defs.reuse import decisions_in_run, lookup
from mlops_assets.git.base import committed_baseline
from mlops_assets.github.context import base_branch
from mlops_assets.params import TrainParams, flat
from mlops_assets.records import Baseline, FeatureSet, MetricsReport, TrainedModel
from mlops_assets.report.data_diff import base_data_section
from mlops_assets.report.evaluation import evaluate
from mlops_assets.report.gate import GateResult, evaluate_gate
from mlops_assets.report.markdown import with_reuse_note
from mlops_assets.report.paired import compare_paired
from mlops_assets.report.seeds import seed_line, seed_spread
from mlops_assets.settings import project_dir
from mlops_assets.tracking.mlflow_client import describe


def baseline_predictions(
    tracking: MlflowTracking, baseline: Baseline | None, run_dir: Path
) -> Path | None:
    """The tracked baseline run's held-out predictions, copied beside this run's files."""
    if baseline is None or not baseline.run_id:
        return None
    return tracking.download(baseline.run_id, PREDICTIONS_FILE, run_dir / "baseline")


def judge(
    report: MetricsReport,
    features: FeatureSet,
    config: GateConfig,
    tracking: MlflowTracking,
    exclude_run_id: str | None,
) -> tuple[MetricsReport, GateResult]:
    """``report`` compared with today's baseline: the registry's champion, else the latest
    tracked run on the base branch, else its committed results; paired when it can be, gated,
    and with the data diff. A reused report is judged again too: the champion or the base
    branch may have moved since it was made."""
    branch = base_branch(os.environ)
    baseline = tracking.champion_baseline() or tracking.baseline(branch, exclude_run_id)
    baseline_note = ""
    if baseline is None:  # a fresh store (a CI runner): the base branch's committed results
        baseline, why = committed_baseline(project_dir(), branch)
        searched = describe(tracking.location())
        baseline_note = f"no finished run on '{branch}' in {searched}, and {why}" if why else ""
    run_dir = Path(report.directory)
    paired = compare_paired(
        report.headline,
        run_dir / PREDICTIONS_FILE,
        baseline_predictions(tracking, baseline, run_dir),
        seed=features.seed,
    )
    gate = evaluate_gate(
        report.headline,
        report.metrics,
        report.naive,
        baseline,
        config.tolerance,
        report.interval,
        paired.difference,
    )
    data_path = features.params["data.path"]
    data_diff = base_data_section(
        project_dir(), branch, data_path, read_csv(project_dir() / data_path)
    )
    judged = replace(
        report,
        baseline=baseline,
        baseline_note=baseline_note,
        paired=paired,
        data_diff=data_diff,
        gate_passed=gate.passed,
        gate_reasons=gate.reasons,
    )
    return judged, gate


def _gate_metadata(gate: GateResult) -> dict:
    return {
        "gate": "passed" if gate.passed else "failed",
        "gate_details": MetadataValue.md(
            "\n".join(f"- {line}" for line in gate.reasons + gate.notes)
        ),
        "promoted": gate.passed,
    }


@asset(code_version="2", group_name="retrain", kinds={"mlflow"})
def metrics_report(
    context: AssetExecutionContext,
    config: GateConfig,
    features: FeatureSet,
    trained_model: TrainedModel,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> Output[MetricsReport]:
    """Evaluates the saved model on the held-out split, writes metrics.json, plots and report.md
    beside it, and promotes the set if the model passes the quality gate (the ``model_gate``
    check then fails the run)."""
    store = artifacts.store
    reuse = lookup(
        context,
        flat("gate", config.model_dump()),
        still_valid=lambda report: Path(report.directory).is_dir(),
    )
    if reuse.found:
        previous: MetricsReport = reuse.value
        markdown = with_reuse_note(previous.markdown, reuse.run_id, "Model and report reused")
        report, gate = judge(previous, features, config, tracking, exclude_run_id=None)
        if gate.passed:
            store.promote(Path(previous.directory))
        report = replace(
            report,
            markdown=markdown,
            reused_from_run=reuse.run_id,
            decisions=decisions_in_run(context, reuse),
        )
        metadata = {"report": MetadataValue.md(markdown), **_gate_metadata(gate)}
        return reuse.restore(report, metadata)

    model_path = store.adopt(Path(trained_model.path), context.run_id)
    labels = Path(trained_model.path).with_name(LABELS_FILE)  # classification's labels
    if labels.is_file():
        store.adopt(labels, context.run_id)
    model_run = Path(trained_model.path).parent.name
    reused_from_run = model_run if model_run != context.run_id else None
    result = evaluate(model_path, features, trained_model, reused_from_run)
    headline, metrics = result.headline, result.metrics
    run_dir = model_path.parent
    seeds = None
    if config.seeds > 1:
        hp = TrainParams(**trained_model.hyperparameters)
        log = context.log.info
        seeds = seed_spread(
            features, hp, headline, metrics[headline], config.seeds, log, project_dir()
        )
    report = MetricsReport(
        task=features.task,
        headline=headline,
        metrics=metrics,
        naive=result.naive,
        markdown=result.markdown,
        directory=str(run_dir),
        history=trained_model.history,
        params=trained_model.params,
        data_hash=features.data_hash,
        plots={name: str(path) for name, path in result.plots.items()},
        interval=result.interval,
        seeds=seeds,
        reused_from_run=reused_from_run,
        decisions=decisions_in_run(context, reuse),
    )

    with tracking.run(context) as mlf:
        run = mlf.active_run().info
        report, gate = judge(report, features, config, tracking, exclude_run_id=run.run_id)
        report = replace(
            report,
            mlflow_run_id=run.run_id,
            mlflow_run_url=tracking.run_url(run.experiment_id, run.run_id),
        )
        mlf.log_metrics({f"test_{k}": v for k, v in metrics.items()})
        if result.per_class:
            mlf.log_metrics({f"test_{k}": v for k, v in result.per_class_metrics().items()})
        low, high = result.interval.low, result.interval.high
        mlf.log_metrics({f"interval_{headline}_low": low, f"interval_{headline}_high": high})
        if seeds is not None:
            mlf.log_metrics(
                {f"seeds_{headline}_mean": seeds.mean, f"seeds_{headline}_spread": seeds.spread}
            )
        mlf.log_artifacts(str(run_dir / PLOTS_DIR), artifact_path="plots")
        for path in (result.metrics_path, result.report_path, result.predictions_path):
            mlf.log_artifact(str(path))
        if (run_dir / labels.name).is_file():  # what a model restored from MLflow needs too
            mlf.log_artifact(str(run_dir / labels.name))
        mlf.set_tag(run_tags.GATE, "passed" if gate.passed else "failed")

    if gate.passed:
        store.promote(run_dir)
        context.log.info(f"{headline} = {metrics[headline]:.4g}: gate passed, promoted {run_dir}")
    else:
        context.log.warning(
            f"model gate failed, {store.latest} left as it was: {'; '.join(gate.reasons)}"
        )
    published = store.latest if gate.passed else run_dir
    return reuse.output(
        report,
        metadata={
            headline: metrics[headline],
            f"{headline}_interval": f"{low:.4g} to {high:.4g}",
            **({f"{headline}_across_seeds": seed_line(seeds)} if seeds else {}),
            **{f"test_{k}": v for k, v in metrics.items() if k != headline},
            **_gate_metadata(gate),
            "report": MetadataValue.md(result.markdown),
            "metrics_path": MetadataValue.path(str(published / METRICS_FILE)),
            "report_path": MetadataValue.path(str(published / REPORT_FILE)),
            "run_dir": MetadataValue.path(str(run_dir)),
        },
    )

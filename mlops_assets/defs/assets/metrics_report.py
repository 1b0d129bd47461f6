"""metrics_report: held-out metrics, plots and report.md, judged against a baseline; then the run
becomes ``artifacts/latest``."""

import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets.artifacts.atomic import write_text_atomic
from mlops_assets.artifacts.layout import METRICS_FILE, MODEL_CARD_FILE, REPORT_FILE
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets.defs.config import PARAMS, GateConfig
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.defs.reuse import Reuse, decisions_in_run, lookup
from mlops_assets.github.context import base_branch
from mlops_assets.params import TrainParams, flat
from mlops_assets.records import FeatureSet, MetricsReport, SeedSpread, TrainedModel
from mlops_assets.report.evaluation import Evaluation, evaluate
from mlops_assets.report.gate import GateResult
from mlops_assets.report.judge import judge
from mlops_assets.report.markdown import with_embedded_plots, with_reuse_note
from mlops_assets.report.model_card import render_model_card
from mlops_assets.report.seeds import seed_line, seed_spread
from mlops_assets.settings import project_dir


def _gate_metadata(gate: GateResult) -> dict:
    return {
        "gate": "passed" if gate.passed else "failed",
        "gate_details": MetadataValue.md(
            "\n".join(f"- {line}" for line in gate.reasons + gate.notes)
        ),
        "is_latest": gate.passed,
    }


def _metadata(report: MetricsReport, gate: GateResult, published: Path) -> dict:
    """The numbers and files of a fresh report, for the UI; paths where its files now live."""
    headline, interval = report.headline, report.interval
    seeds = {f"{headline}_across_seeds": seed_line(report.seeds)} if report.seeds else {}
    return {
        headline: report.metrics[headline],
        f"{headline}_interval": f"{interval.low:.4g} to {interval.high:.4g}",
        **seeds,
        **{name: v for name, v in report.metrics.items() if name != headline},
        **_gate_metadata(gate),
        "report": MetadataValue.md(with_embedded_plots(report.markdown, Path(report.directory))),
        "metrics_path": MetadataValue.path(str(published / METRICS_FILE)),
        "report_path": MetadataValue.path(str(published / REPORT_FILE)),
        "model_card_path": MetadataValue.path(str(published / MODEL_CARD_FILE)),
        "run_dir": MetadataValue.path(report.directory),
    }


def write_model_card(report: MetricsReport, features: FeatureSet, model: TrainedModel) -> Path:
    """``model_card.md`` beside the model, from the judged ``report`` and params.yaml's
    ``model_card`` texts; ``model_version`` makes it the registered version's description."""
    card = render_model_card(report, features, model.epochs_run, PARAMS.model_card.model_dump())
    return write_text_atomic(Path(report.directory) / MODEL_CARD_FILE, card)


def _judged_again(
    context: AssetExecutionContext,
    reuse: Reuse,
    judged: Callable,
    store: RunArtifacts,
    card: Callable[[MetricsReport], Path],
) -> Output[MetricsReport]:
    """The last report restored, judged against today's baseline (it may have moved). Its
    model card keeps the judgement of the run that made the report (judged again, the champion
    it became could be its own baseline), with today's ``model_card`` texts."""
    previous: MetricsReport = reuse.value
    card(previous)
    markdown = with_reuse_note(previous.markdown, reuse.run_id, "Model and report reused")
    report, gate = judged(previous)
    if gate.passed:
        store.point_latest(Path(previous.directory))
    report = replace(
        report,
        markdown=markdown,
        reused_from_run=reuse.run_id,
        decisions=decisions_in_run(context, reuse),
    )
    shown = with_embedded_plots(markdown, Path(previous.directory))
    metadata = {"report": MetadataValue.md(shown), **_gate_metadata(gate)}
    return reuse.restore(report, metadata)


def _seeds(
    context: AssetExecutionContext,
    config: GateConfig,
    features: FeatureSet,
    trained_model: TrainedModel,
    result: Evaluation,
) -> SeedSpread | None:
    """The headline across ``gate.seeds`` seeds (more models trained), when more than one."""
    if config.seeds <= 1:
        return None
    hp = TrainParams(**trained_model.hyperparameters)
    value = result.metrics[result.headline]
    log, project = context.log.info, project_dir()
    return seed_spread(features, hp, result.headline, value, config.seeds, log, project)


# 3: metrics named test_mae, not mae (report.metrics); a stored report of 2 is not restored.
@asset(code_version="3", group_name="retrain", kinds={"mlflow"})
def metrics_report(
    context: AssetExecutionContext,
    config: GateConfig,
    features: FeatureSet,
    trained_model: TrainedModel,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> Output[MetricsReport]:
    """Evaluates the saved model on the held-out split, writes metrics.json, plots and report.md
    beside it, judges it against the baseline, logs it to MLflow, and points ``artifacts/latest``
    at the set if the model passes the quality gate (else the ``model_gate`` check fails the
    run)."""
    store = artifacts.store
    reuse = lookup(
        context,
        flat("gate", config.model_dump()),
        still_valid=lambda report: Path(report.directory).is_dir(),
    )
    judged = partial(
        judge,
        features=features,
        baselines=tracking.baselines(),
        tolerance=config.tolerance,
        project=project_dir(),
        branch=base_branch(os.environ),
    )
    card = partial(write_model_card, features=features, model=trained_model)
    if reuse.found:
        return _judged_again(context, reuse, judged, store, card)

    model_path = store.adopt_model(Path(trained_model.path), context.run_id)
    model_run = Path(trained_model.path).parent.name
    reused_from_run = model_run if model_run != context.run_id else None
    result = evaluate(model_path, features, trained_model, reused_from_run)
    seeds = _seeds(context, config, features, trained_model, result)
    decisions = decisions_in_run(context, reuse)
    report = result.report(features, trained_model, seeds, reused_from_run, decisions)

    with tracking.run(context) as mlf:
        run = mlf.active_run().info
        report, gate = judged(report, exclude_run_id=run.run_id)
        run_url = tracking.run_url(run.experiment_id, run.run_id)
        report = replace(report, mlflow_run_id=run.run_id, mlflow_run_url=run_url)
        files = [*result.files, card(report)]
        tracking.log_report(report, result.per_class_metrics(), files)

    run_dir = model_path.parent
    if gate.passed:
        store.point_latest(run_dir)
        value = report.metrics[report.headline]
        context.log.info(
            f"{report.headline} = {value:.4g}: gate passed, {store.latest} -> {run_dir}"
        )
    else:
        context.log.warning(
            f"model gate failed, {store.latest} left as it was: {'; '.join(gate.reasons)}"
        )
    return reuse.output(report, _metadata(report, gate, store.latest if gate.passed else run_dir))

"""model_version: a model that passed the gate, registered in the MLflow Model Registry; on a
clean run of the champion branch it becomes the champion (``promotion`` has the rules)."""

import os
from pathlib import Path

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets import run_tags
from mlops_assets.artifacts.layout import MODEL_CARD_FILE
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.git.checkout import git_tags, uncommitted_sources
from mlops_assets.git.commands import git_or_none
from mlops_assets.github.context import pull_request_number
from mlops_assets.promotion import (
    CHAMPION,
    NOT_REGISTERED,
    Decision,
    decide,
    merged_pull_request,
    next_move,
)
from mlops_assets.records import MetricsReport, ModelVersion, Registration, TrainedModel
from mlops_assets.report.model_card import as_description
from mlops_assets.report.promotions import ledger_table, registration_line
from mlops_assets.settings import project_dir


def _pr_number(context: AssetExecutionContext) -> str:
    return pull_request_number(os.environ.get("GITHUB_REF", "")) or context.run.tags.get(
        run_tags.PR_NUMBER, ""
    )


def _model_card(report: MetricsReport) -> str:
    """The card ``metrics_report`` wrote beside the model, as a version's description; empty
    for a run from before model cards."""
    path = Path(report.directory) / MODEL_CARD_FILE
    return as_description(path.read_text(encoding="utf-8")) if path.is_file() else ""


def _record(
    name: str, report: MetricsReport, model: TrainedModel, git: dict, pr_number: str
) -> ModelVersion:
    commit = git.get(run_tags.GIT_COMMIT, "")
    subject = git_or_none(project_dir(), "log", "-1", "--format=%s", commit) if commit else None
    return ModelVersion(
        name=name,
        version="",
        run_id=model.mlflow_run_id or report.mlflow_run_id or "",
        report_run_id=report.mlflow_run_id or "",
        dagster_run_id=Path(report.directory).name,
        commit=commit,
        branch=git.get(run_tags.GIT_BRANCH, ""),
        pr_number=pr_number or merged_pull_request(subject or ""),
        data_hash=report.data_hash,
        headline=report.headline,
        metrics=report.metrics,
        interval=report.interval,
    )


@asset(group_name="retrain", kinds={"mlflow"})
def model_version(
    context: AssetExecutionContext,
    metrics_report: MetricsReport,
    trained_model: TrainedModel,
    tracking: MlflowTracking,
    artifacts: ArtifactStore,
) -> Output[Registration]:
    """Registers the model as a version of the registered model when it passed the gate. A clean
    run of the champion branch outside a pull request (a merge) moves the ``champion`` alias to
    it and records the move on the version; a pull request's version is a candidate (alias
    ``pr-<N>``). ``champion`` is the next gate's baseline."""
    name = tracking.model_name
    git = git_tags(project_dir(), os.environ)
    pr_number = _pr_number(context)
    decision = decide(
        gate_passed=metrics_report.gate_passed,
        branch=git.get(run_tags.GIT_BRANCH),
        champion_branch=tracking.champion_branch,
        dirty=uncommitted_sources(project_dir(), artifacts.store.root_path),
        pr_number=pr_number,
    )
    if decision.role != NOT_REGISTERED and not trained_model.mlflow_model_uri:
        decision = Decision(
            NOT_REGISTERED,
            f"the model at {trained_model.path} was trained before models were registered (it "
            "has no MLflow model URI); run with --force to train and register it",
        )
        context.log.warning(decision.why)
    before = tracking.champion()
    registration = Registration(name, decision.role, decision.why, champion_before=before)
    if decision.role != NOT_REGISTERED:
        record = _record(name, metrics_report, trained_model, git, pr_number)
        card = _model_card(metrics_report)
        version = tracking.register(record, trained_model.mlflow_model_uri, card)
        ledger, promoted = tracking.ledger(), None
        if decision.role == CHAMPION and (before is None or before.version != version.version):
            promoted = next_move(
                ledger,
                version,
                before,
                by_run=context.run_id,
                commit=record.commit,
                reason=f"passed the gate on '{tracking.champion_branch}'",
            )
            tracking.move_champion(promoted)
            ledger = [*ledger, promoted]
        if decision.alias:
            tracking.set_alias(decision.alias, version.version)
        registration = Registration(
            name,
            decision.role,
            decision.why,
            version=version,
            champion_before=before,
            promoted=promoted,
            alias=decision.alias,
            url=tracking.model_url(version.version),
            ledger=ledger,
        )
    champion = registration.version if registration.promoted else before
    line = registration_line(registration)
    context.log.info(line.replace("**", ""))
    metadata = {
        "role": registration.role,
        "why": registration.why,
        "registered_model": name,
        "version": f"v{registration.version.version}" if registration.version else "none",
        "champion": f"v{champion.version}" if champion else "none",
        "promotions": MetadataValue.md(ledger_table(registration.ledger, metrics_report.headline)),
    }
    if registration.url:
        metadata["version_url"] = MetadataValue.url(registration.url)
    return Output(registration, metadata=metadata)

"""The ``rollback`` job: ``champion`` back to an earlier version, and ``artifacts/latest`` with it.

``dagster job execute -m mlops_assets -j rollback`` (or the UI's launchpad), with optional run
config ``{"ops": {"rollback_champion": {"config": {"version": "3"}}}}``; the default is the
champion the current one replaced. The version's files come from its run directory, or from
MLflow when that directory was pruned. Everything is checked and staged before anything moves, so a
rollback that cannot be done changes nothing.
"""

import shutil
import tempfile
from pathlib import Path

from dagster import (
    AssetObservation,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    job,
    op,
)
from pydantic import Field

from mlops_assets.artifacts.layout import (
    LABELS_FILE,
    METRICS_FILE,
    MODEL_CARD_FILE,
    MODEL_FILE,
    PLOTS_DIR,
    PREDICTIONS_FILE,
    REPORT_FILE,
)
from mlops_assets.artifacts.store import RUNS, RunArtifacts
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.promotion import RollbackError, next_move, rollback_target
from mlops_assets.records import ModelVersion, Promotion
from mlops_assets.report.promotions import ledger_table, version_label
from mlops_assets.tracking.registry import RegistryError

ROLLBACK_JOB = "rollback"
# What the report run logged; a file an older run lacks (the model card) is simply not restored.
REPORT_FILES = (
    METRICS_FILE,
    REPORT_FILE,
    MODEL_CARD_FILE,
    PREDICTIONS_FILE,
    LABELS_FILE,
    PLOTS_DIR,
)


class RollbackConfig(Config):
    version: str = Field(
        default="",
        description="The version to return to (3 or v3); empty: the champion the current one "
        "replaced",
    )


def restored_run_dir(
    version: ModelVersion, store: RunArtifacts, tracking: MlflowTracking, run_id: str
) -> Path:
    """A complete run directory with ``version``'s model and report: its own, when it was not
    pruned, else this run's, filled from the registry and the version's report run."""
    own = store.root_path / RUNS / version.dagster_run_id
    if version.dagster_run_id and store.is_complete(own):
        return own
    run_dir = store.run_dir(run_id)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy2(tracking.download_model(version.version, Path(tmp)), run_dir / MODEL_FILE)
    for name in REPORT_FILES:
        tracking.download(version.report_run_id, name, run_dir)
    if not store.is_complete(run_dir):
        raise RegistryError(
            f"version {version.version}'s report run {version.report_run_id} lacks its "
            "metrics.json or report.md, and its run directory was pruned"
        )
    return run_dir


@op(name="rollback_champion")
def rollback_op(
    context: OpExecutionContext,
    config: RollbackConfig,
    tracking: MlflowTracking,
    artifacts: ArtifactStore,
) -> Promotion:
    """Moves ``champion`` to ``version`` (default: the one the current champion replaced),
    restores ``artifacts/latest`` to that version's model and report, and records the move."""
    name = tracking.model_name
    current = tracking.champion()
    ledger = tracking.ledger()
    known = tracking.versions()
    try:
        target = rollback_target(ledger, current, config.version, [v.version for v in known])
    except RollbackError as error:
        raise Failure(f"cannot roll back '{name}': {error}; nothing was changed") from None
    version = next(v for v in known if v.version == target)
    store = artifacts.store
    try:
        run_dir = restored_run_dir(version, store, tracking, context.run_id)
    except (RegistryError, OSError) as error:
        raise Failure(
            f"cannot restore v{target} of '{name}': {error}; nothing was changed"
        ) from None
    move = next_move(
        ledger,
        version,
        current,
        by_run=context.run_id,
        commit=version.commit,
        reason=f"rollback from v{current.version}",
    )
    tracking.move_champion(move)
    store.point_latest(run_dir)
    context.log.info(
        f"champion of '{name}' is {version_label(version)} again (was v{current.version}); "
        f"{store.latest} holds its model and report"
    )
    metadata = {
        "champion": f"v{version.version}",
        "replaced": f"v{current.version}",
        "latest": MetadataValue.path(str(run_dir)),
        "promotions": MetadataValue.md(ledger_table([*ledger, move], version.headline)),
    }
    context.add_output_metadata(metadata)
    # On model_version's own page too, where the moves made by retrains are shown.
    context.log_event(
        AssetObservation(
            asset_key="model_version",
            description=f"rollback: champion v{current.version} → v{version.version}",
            metadata=metadata,
        )
    )
    return move


@job(name=ROLLBACK_JOB, description="Move the champion back to an earlier model version.")
def rollback_job():
    rollback_op()

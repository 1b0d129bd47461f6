"""Statuses that tell the truth after a failure or a kill.

- A step that fails, however it fails (inputs that would not load included), ends the run's
  MLflow run FAILED with the asset tagged: ``mlflow_run_failed``, a failure hook on every asset.
- A run whose process is gone (SIGKILL, a crash, a machine put to sleep) stays STARTED forever
  in Dagster's records. Each run records its ``host:pid`` when it starts; the next run on the
  project marks such runs failed, saying why (``fail_abandoned_runs``), and its tracking step
  ends their MLflow runs to match (``mlflow_status_for``).
"""

from dagster import DagsterInstance, DagsterRunStatus, HookContext, RunsFilter, failure_hook

from mlops_assets import run_tags
from mlops_assets.artifacts.lock import process_is_gone


def fail_abandoned_runs(instance: DagsterInstance, current_run_id: str) -> list[str]:
    """Mark failed every STARTED run, other than ``current_run_id``, whose process is gone.
    Returns their run ids. Runs of other hosts are left alone: their processes can't be seen."""
    abandoned = []
    for run in instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        process = run.tags.get(run_tags.PROCESS)
        if run.run_id == current_run_id or not process or not process_is_gone(process):
            continue
        instance.add_run_tags(run.run_id, {run_tags.ABANDONED: "1"})
        instance.report_run_failed(
            run,
            message=(
                f"Its process ({process}) ended without finishing the run (killed, or crashed); "
                f"marked failed when run {current_run_id} started."
            ),
        )
        abandoned.append(run.run_id)
    return abandoned


def mlflow_status_for(instance: DagsterInstance, dagster_run_id: str) -> str | None:
    """The MLflow status that matches a finished Dagster run; None while it may still be
    running, or when this instance does not know it."""
    run = instance.get_run_by_id(dagster_run_id)
    if run is None:
        return None
    if run.status == DagsterRunStatus.SUCCESS:
        return "FINISHED"
    if run.status == DagsterRunStatus.CANCELED or run.tags.get(run_tags.ABANDONED):
        return "KILLED"
    if run.status == DagsterRunStatus.FAILURE:
        return "FAILED"
    return None


@failure_hook(required_resource_keys={"tracking"})
def mlflow_run_failed(context: HookContext) -> None:
    """End the Dagster run's MLflow run FAILED, naming the failed asset (a no-op when the step's
    own tracking block already did, or when no MLflow run was opened)."""
    try:
        context.resources.tracking.fail_run(context.run_id, asset=context.step_key)
    except Exception as error:  # noqa: BLE001 - the step's failure is the news, not this
        context.log.warning(f"could not mark the MLflow run FAILED: {error}")

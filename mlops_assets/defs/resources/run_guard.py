"""The run's lifecycle on a project: what every run does first and undoes last.

``RunGuard`` is set up before any step reads or writes an output (the IO manager depends on it):
it records the run's process, takes the project lock for the whole run (another run waits, or
gives up naming the running one), marks failed the runs whose process is gone and ends their
MLflow runs to match, repairs a dangling ``artifacts/latest``, and prunes old stored outputs.
The IO manager (``defs/io_manager.py``) is left to read and write.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, DagsterInstance, InitResourceContext
from pydantic import Field

from mlops_assets import run_tags
from mlops_assets.artifacts.lock import held_for, process_tag, project_lock
from mlops_assets.artifacts.outputs import RunOutputs
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.defs.run_status import fail_abandoned_runs


class RunGuard(ConfigurableResource):
    """One run at a time per project (the lock ``artifacts_dir/.lock``), and statuses that tell
    the truth when an earlier run was killed."""

    artifacts_dir: str = Field(description="The artifact store: the lock, latest, run dirs")
    storage_dir: str = Field(description="Stored outputs (artifacts/storage), pruned here")
    tracking: MlflowTracking = Field(description="Where killed runs' MLflow runs are ended")
    lock_wait_seconds: float = Field(
        default=600.0, ge=0, description="How long a run waits for the running one"
    )
    keep_runs: int = Field(default=10, ge=1, description="Runs' stored outputs kept besides")

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["RunGuard"]:
        run_id, instance = context.run_id, context.instance
        if run_id is None or instance is None:  # built outside a run (a test, a script)
            yield self
            return
        if held_for(Path(self.artifacts_dir), run_id):  # by the run's executor (a sweep's)
            yield self
            return
        with self.hold(instance, run_id, context.log):
            yield self

    @contextmanager
    def hold(self, instance: DagsterInstance, run_id: str, log) -> Iterator[None]:
        """The project, held for run ``run_id`` for the block, after the housekeeping: a step
        resource does it for an in-process run, the executor for a sweep's processes."""
        instance.add_run_tags(run_id, {run_tags.PROCESS: process_tag()})
        artifacts = Path(self.artifacts_dir)
        with project_lock(artifacts, run_id, self.lock_wait_seconds, on_wait=log.info):
            for abandoned in fail_abandoned_runs(instance, run_id):
                log.warning(f"run {abandoned}'s process is gone: marked it failed")
            # Every run, whatever it reuses: a killed run's MLflow run must not stay RUNNING.
            try:
                for line in self.tracking.end_finished_runs(instance, run_id):
                    log.warning(line)
            except Exception as error:  # noqa: BLE001 - old runs' statuses can wait
                log.warning(f"could not end the MLflow runs of finished runs: {error}")
            if repaired := RunArtifacts(artifacts).repair_latest():
                log.warning(repaired)
            RunOutputs(Path(self.storage_dir)).prune(
                keep=_still_read(instance), keep_newest=self.keep_runs
            )
            yield


def _still_read(instance: DagsterInstance) -> set[str]:
    """Runs whose outputs are the latest materialisation of some asset."""
    keys = instance.get_asset_keys()
    events = instance.get_latest_materialization_events(keys).values()
    return {event.run_id for event in events if event is not None}

"""Run isolation: each run stores its assets' outputs in files of its own, and one run at a
time works on a project.

``RunIsolatedStorage`` is the IO manager every step uses, so it is what each run sets up
first and tears down last: it takes the project lock for the whole run (another run waits, or
gives up naming the running one), records the run's process for the statuses of
``run_status``, repairs a dangling ``artifacts/latest``, and prunes old stored outputs.
Outputs live in ``storage/runs/<run_id>/`` (``artifacts.outputs``): a run reads the outputs it
wrote itself, and an asset it did not run from the run that last materialised it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import (
    AssetKey,
    ConfigurableIOManagerFactory,
    DagsterInstance,
    DagsterInvariantViolationError,
    InitResourceContext,
    InputContext,
    IOManager,
    OutputContext,
)
from pydantic import Field

from mlops_assets import run_tags
from mlops_assets.artifacts.lock import process_tag, project_lock
from mlops_assets.artifacts.outputs import RunOutputs, StoredOutputError
from mlops_assets.artifacts.store import RunArtifacts
from mlops_assets.defs.reuse import FINGERPRINT  # the stamp each output carries
from mlops_assets.defs.run_status import fail_abandoned_runs


def _name(key: AssetKey) -> str:
    return "__".join(key.path)


def _stamp(metadata) -> str | None:
    entry = (metadata or {}).get(FINGERPRINT)
    return str(getattr(entry, "value", entry)) if entry is not None else None


class RunOutputsIOManager(IOManager):
    """Reads and writes ``RunOutputs`` for the steps of one run."""

    def __init__(self, outputs: RunOutputs, instance: DagsterInstance | None):
        self.outputs = outputs
        self.instance = instance

    def handle_output(self, context: OutputContext, obj) -> None:
        if not context.has_asset_key:  # an op's output, read within its run only
            name = f"{context.step_key}__{context.name}"
            self.outputs.write(context.run_id, name, obj, stamp=None, latest=False)
            return
        name = _name(context.asset_key)
        self.outputs.write(context.run_id, name, obj, _stamp(context.output_metadata))

    def load_input(self, context: InputContext):
        if not context.has_asset_key:
            upstream = context.upstream_output
            return self.outputs.read(upstream.run_id, f"{upstream.step_key}__{upstream.name}")
        return self.load_materialized(context.asset_key, self._producer(context))

    def load_materialized(self, key: AssetKey, run_id: str):
        """The output run ``run_id`` stored for ``key`` (``StoredOutputError`` naming the file
        when it is missing or unreadable)."""
        return self.outputs.read(run_id, _name(key))

    def _producer(self, context: InputContext) -> str:
        """The run whose output ``context`` loads: this one when it materialised the asset,
        else the run that last did (by the instance's records, else by the stored outputs)."""
        try:
            this_run = context.step_context.run_id
        except DagsterInvariantViolationError:  # loaded outside a step
            this_run = None
        if this_run and self.outputs.path(this_run, _name(context.asset_key)).is_file():
            return this_run
        instance = self.instance or context.instance
        event = instance.get_latest_materialization_event(context.asset_key)
        if event is not None:
            return event.run_id
        # A throwaway instance (no DAGSTER_HOME) has no records: the run that stored it last.
        if writer := self.outputs.last_writer(_name(context.asset_key)):
            return writer
        raise StoredOutputError(
            f"{context.asset_key.to_user_string()} was never materialised here: "
            "materialise it (or the whole graph) first"
        )


class RunIsolatedStorage(ConfigurableIOManagerFactory):
    """Outputs under ``base_dir/runs/<run_id>/``, fingerprint stamps under ``base_dir``; the
    project lock (``artifacts_dir/.lock``) held for the run."""

    base_dir: str = Field(description="Where stored outputs live (artifacts/storage)")
    artifacts_dir: str = Field(description="The artifact store: the lock, latest, run dirs")
    lock_wait_seconds: float = Field(
        default=600.0, ge=0, description="How long a run waits for the running one"
    )
    keep_runs: int = Field(default=10, ge=1, description="Runs' stored outputs kept besides")

    def create_io_manager(self, context: InitResourceContext) -> RunOutputsIOManager:
        return RunOutputsIOManager(RunOutputs(Path(self.base_dir)), context.instance)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[RunOutputsIOManager]:
        run_id, instance = context.run_id, context.instance
        if run_id is None or instance is None:  # built outside a run (a test, a script)
            yield self.create_io_manager(context)
            return
        instance.add_run_tags(run_id, {run_tags.PROCESS: process_tag()})
        with project_lock(
            Path(self.artifacts_dir), run_id, self.lock_wait_seconds, on_wait=context.log.info
        ):
            for abandoned in fail_abandoned_runs(instance, run_id):
                context.log.warning(f"run {abandoned}'s process is gone: marked it failed")
            if repaired := RunArtifacts(Path(self.artifacts_dir)).repair_latest():
                context.log.warning(repaired)
            manager = self.create_io_manager(context)
            manager.outputs.prune(keep=self._still_read(instance), keep_newest=self.keep_runs)
            yield manager

    @staticmethod
    def _still_read(instance: DagsterInstance) -> set[str]:
        """Runs whose outputs are the latest materialisation of some asset."""
        keys = instance.get_asset_keys()
        events = instance.get_latest_materialization_events(keys).values()
        return {event.run_id for event in events if event is not None}

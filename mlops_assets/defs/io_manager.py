"""Run isolation: each run stores its assets' outputs in files of its own.

``RunIsolatedStorage`` is the IO manager every step uses. Outputs live in
``storage/runs/<run_id>/`` (``artifacts.outputs``): a run reads the outputs it wrote itself, and
an asset it did not run from the run that last materialised it. It depends on the run guard
(``resources/run_guard.py``), so no output is read or written before the run holds the project.
"""

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

from mlops_assets.artifacts.outputs import RunOutputs, StoredOutputError
from mlops_assets.defs.resources.run_guard import RunGuard
from mlops_assets.defs.reuse import FINGERPRINT  # the stamp each output carries


def _name(key: AssetKey) -> str:
    return "__".join(key.path)


def _op_output(step_key: str, output: str, mapping_key: str | None) -> str:
    """An op's output's file name; one per dynamic output (a sweep's trials)."""
    return f"{step_key}__{output}" + (f"[{mapping_key}]" if mapping_key else "")


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
            name = _op_output(context.step_key, context.name, context.mapping_key)
            self.outputs.write(context.run_id, name, obj, stamp=None, latest=False)
            return
        name = _name(context.asset_key)
        self.outputs.write(context.run_id, name, obj, _stamp(context.output_metadata))

    def load_input(self, context: InputContext):
        if not context.has_asset_key:
            upstream = context.upstream_output
            name = _op_output(upstream.step_key, upstream.name, upstream.mapping_key)
            return self.outputs.read(upstream.run_id, name)
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
    """Outputs under ``guard.storage_dir/runs/<run_id>/``, fingerprint stamps beside them."""

    guard: RunGuard = Field(description="The run's lifecycle: lock, reaper, repair, pruning")

    def create_io_manager(self, context: InitResourceContext) -> RunOutputsIOManager:
        return RunOutputsIOManager(RunOutputs(Path(self.guard.storage_dir)), context.instance)

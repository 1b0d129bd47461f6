"""``mlops-assets run`` with a sweep: the retrain job launched so its trials run in parallel.

A sweep's steps are processes of their own (the multiprocess executor), which
``execute_in_process`` cannot run; ``execute_job`` on a reconstructable job can, on a persistent
instance. The rest (instance settings, run config, summary, the pre-launch record) is the plain
run's (``cli``).
"""

import sys
from contextlib import ExitStack
from pathlib import Path

from mlops_assets import prelaunch, run_tags
from mlops_assets.artifacts.lock import exclusive
from mlops_assets.artifacts.outputs import RunOutputs
from mlops_assets.cli import INSTANCE_LOCK, ensure_instance_dir, print_summary, run_config


def run_sweep(args, home: str | None, verbose: bool, state, artifacts: Path) -> int:
    """The retrain job with a sweep: its steps are processes (the trials run in parallel), so
    it is launched with ``execute_job`` on a persistent instance (a temporary one without
    ``DAGSTER_HOME``)."""
    from dagster import DagsterInstance, execute_job, reconstructable

    from mlops_assets.definitions import SWEEP_PLAN, defs, retrain_job

    trials = len(SWEEP_PLAN.trials)
    print(f"sweep: {trials} trials, up to {SWEEP_PLAN.parallel} at once", file=sys.stderr)
    with ExitStack() as stack:
        if home:
            ensure_instance_dir(Path(home))
            with exclusive(Path(home) / INSTANCE_LOCK):
                instance = stack.enter_context(DagsterInstance.get())
        else:
            print("DAGSTER_HOME is unset: this run's history is not kept", file=sys.stderr)
            instance = stack.enter_context(DagsterInstance.local_temp())
        tags = {run_tags.FORCE: "1"} if args.force else {}
        result = stack.enter_context(
            execute_job(
                reconstructable(retrain_job),
                instance=instance,
                run_config=run_config(args.config_json, verbose),
                tags=tags,
                raise_on_error=False,
            )
        )
        storage = Path(defs.resources["run_guard"].storage_dir)
        summary = print_summary(StoredOutputs(result.run_id, storage), defs)
        if result.success and state is not None:
            prelaunch.save(artifacts, state, result.run_id, summary)
        elif home:
            prelaunch.forget(artifacts)
        return 0 if result.success else 1


class StoredOutputs:
    """A finished run's asset outputs as its stored files hold them: what ``print_summary``
    reads (``execute_job``'s result would load them through resources of their own)."""

    def __init__(self, run_id: str, storage: Path):
        self.run_id = run_id
        self._outputs = RunOutputs(storage)

    def output_for_node(self, node: str):
        return self._outputs.read(self.run_id, node)
